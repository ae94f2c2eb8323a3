"""/score's URL fetching refuses server-side request forgery: loopback and private addresses
(after resolution), other ports, redirects; one message for every refusal."""

import http.server
import threading
from collections.abc import Iterator

import pytest
from filament.core.errors import DomainError
from filament.models.serving import fetch_allowed_urls
from filament.uploads import url_fetch


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Handler.hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(b"an image")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[int]:
    _Handler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _refused(url: str, hosts: list[str]) -> str:
    with pytest.raises(url_fetch.UrlRefused) as refused:
        url_fetch.fetch(url, hosts)
    return str(refused.value)


def test_loopback_is_refused_even_when_allow_listed_and_on_an_allowed_port(
    local_server, monkeypatch
):
    monkeypatch.setattr(url_fetch, "ALLOWED_PORTS", {80, 443, local_server})
    for host in ("127.0.0.1", "localhost"):
        _refused(f"http://{host}:{local_server}/image.png", [host])
    assert _Handler.hits == []  # refused before connecting


def test_other_ports_are_refused(local_server):
    _refused(f"http://127.0.0.1:{local_server}/image.png", ["127.0.0.1"])
    assert _Handler.hits == []


def test_redirects_are_refused_not_followed(local_server, monkeypatch):
    # pretend the local server is a public host to reach the redirect itself
    monkeypatch.setattr(url_fetch, "ALLOWED_PORTS", {local_server})
    monkeypatch.setattr(url_fetch, "public_address", lambda address: True)
    assert url_fetch.fetch(f"http://127.0.0.1:{local_server}/ok", ["127.0.0.1"]) == b"an image"
    _refused(f"http://127.0.0.1:{local_server}/redirect", ["127.0.0.1"])
    assert _Handler.hits == ["/ok", "/redirect"]  # the redirect's target was never asked


def test_every_refusal_reads_the_same():
    messages = {
        _refused("http://10.0.0.1/x.png", ["10.0.0.1"]),  # private, refused before connecting
        _refused("http://[::1]/x.png", ["::1"]),
        _refused("https://evil.example/x.png", ["images.example"]),  # not allow-listed
        _refused("file:///etc/passwd", [""]),
        _refused("http://user:pw@images.example/x.png", ["images.example"]),
        _refused("http://images.example:8080/x.png", ["images.example"]),
        _refused("http://[not-an-ip/x.png", ["images.example"]),
    }
    assert messages == {url_fetch.REFUSED}


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_public_addresses(address, public):
    assert url_fetch.public_address(address) is public


def test_the_api_answers_400_with_the_one_message():
    # a domain error; the API's one handler answers it with its status and {"detail": message}
    with pytest.raises(DomainError) as refused:
        fetch_allowed_urls(["http://127.0.0.1/x.png"], ["127.0.0.1"])
    assert refused.value.status == 400
    assert str(refused.value) == url_fetch.REFUSED
