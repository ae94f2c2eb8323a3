"""Request-body limits against a real uvicorn server and raw sockets: the answer must come
before the client has sent the body, so the server provably did not read it."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.api.test_uploads import project


@pytest.fixture
def server(env) -> Iterator[int]:
    import uvicorn
    from filament.api.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started
    yield port
    running.should_exit = True
    thread.join(10)


def _answer_before_body(port: int, head: str, sent: bytes = b"") -> tuple[int, str, float]:
    """Send the request head (and `sent`), never the rest of the body; the status, answer and
    seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head.encode() + sent)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    text = answer.decode("latin-1")
    return int(text.split(" ", 2)[1]), text, time.monotonic() - started


def _head(path: str, length: int | None, content_type: str, token: str | None = None) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: test", f"Content-Type: {content_type}"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return "\r\n".join(lines) + "\r\n\r\n"


def test_huge_register_body_is_refused_before_it_is_read(server):
    status, answer, seconds = _answer_before_body(
        server, _head("/api/v1/auth/register", 2 * 1024**3, "application/json"), b'{"email": "'
    )
    assert status == 413 and "FILAMENT_MAX_REQUEST_BYTES" in answer
    assert seconds < 5


def test_chunked_register_body_stops_at_the_default_limit(server):
    """No length declared: the server stops reading at 1 MiB, it does not take the gigabytes."""
    sent = 0
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", server), timeout=10) as connection:
        connection.sendall(_head("/api/v1/auth/register", None, "application/json").encode())
        answer = b""
        try:
            while sent < 64 * 1024**2:
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                connection.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    answer += connection.recv(65536)
                connection.setblocking(True)
                if answer:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        connection.settimeout(5)
        while b"}" not in answer:
            more = connection.recv(65536)
            if not more:
                break
            answer += more
    assert answer.startswith(b"HTTP/1.1 413")
    assert sent < 8 * 1024**2  # the server answered after about 1 MiB, not after 64 MiB


def test_unauthenticated_large_upload_gets_401_before_the_body(server):
    head = _head("/api/v1/projects/1/items", 500 * 1024**2, "multipart/form-data; boundary=b")
    status, _answer, seconds = _answer_before_body(server, head, b"--b\r\n")
    assert status == 401 and seconds < 5
    bad_token = _head("/api/v1/projects/1/score", 50 * 1024**2, "application/json", "nope")
    assert _answer_before_body(server, bad_token)[0] == 401


def test_large_bodies_only_where_declared(client, owner):
    """An authenticated caller may send a large body to an upload route, not to others."""
    pid = project(client, owner)
    big_json = b'{"name": "' + b"x" * (2 * 1024**2) + b'"}'
    refused = client.post(
        f"/api/v1/projects/{pid}/datasets",
        headers={**owner, "Content-Type": "application/json"},
        content=big_json,
    )
    assert refused.status_code == 413 and "FILAMENT_MAX_REQUEST_BYTES" in refused.json()["detail"]
    noise = b"\xff\xd8\xff" + b"\0" * (3 * 1024**2)
    accepted = client.post(
        f"/api/v1/projects/{pid}/items", headers=owner, files=[("files", ("big.jpg", noise))]
    )
    assert accepted.status_code == 202, accepted.text
    huge_score = client.post(
        f"/api/v1/projects/{pid}/score",
        headers={**owner, "Content-Type": "application/json"},
        content=b'{"type": "images", "data": ["' + b"A" * (65 * 1024**2) + b'"]}',
    )
    assert huge_score.status_code == 413
    assert "FILAMENT_MAX_SCORE_REQUEST_BYTES" in huge_score.json()["detail"]
