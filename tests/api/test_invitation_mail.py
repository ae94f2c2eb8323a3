"""Invitation mails through a real local SMTP server (aiosmtpd): sent after the answer, with
the link; a mail server that refuses, fails or never answers leaves the invitation working
and its `mail_status` saying so."""

import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.api.test_uploads import project
from tests.conftest import register

API = "/api/v1"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.logins: list[tuple[str, str]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.refuse:
            return "554 5.7.1 relay refused for this test"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave it to us)
        return AuthResult(success=(login, password) == ("mailer", "p@ss word"), handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox(monkeypatch) -> Iterator[Inbox]:  # type: ignore[no-untyped-def]
    from filament.core.settings import get_settings

    box = Inbox()
    port = _free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    monkeypatch.setenv("FILAMENT_SMTP_URL", f"smtp://mailer:p%40ss%20word@127.0.0.1:{port}")
    monkeypatch.setenv("FILAMENT_SMTP_FROM", "Filament <filament@example.com>")
    get_settings.cache_clear()
    yield box
    controller.stop()


def _invite(client, owner, pid, email="new@example.com"):  # type: ignore[no-untyped-def]
    sent = client.post(
        f"{API}/projects/{pid}/invitations",
        headers=owner,
        json={"email": email, "role": "annotator"},
    )
    assert sent.status_code == 201, sent.text
    return sent.json()


def _listed(client, owner, pid):  # type: ignore[no-untyped-def]
    return client.get(f"{API}/projects/{pid}/invitations", headers=owner).json()["data"]


def test_the_link_is_mailed_to_the_invited_email(client, owner, inbox):
    pid = project(client, owner)
    sent = _invite(client, owner, pid)
    assert sent["mail_status"] == "sending"
    (mail,) = inbox.messages
    assert inbox.logins == [("mailer", "p@ss word")]  # the URL's user and password, decoded
    assert mail["To"] == "new@example.com"
    assert mail["From"] == "Filament <filament@example.com>"
    assert mail["Subject"] == "ann invites you to P on Filament"
    text = mail.get_payload(decode=True).decode()
    assert sent["url"] in text and "annotator" in text and "7 days" in text
    (listed,) = _listed(client, owner, pid)
    assert (listed["mail_status"], listed["mail_error"]) == ("sent", None)
    # the mailed link works
    invitee = register(client, "new@example.com")
    accepted = client.post(f"{API}/invitations/{sent['token']}/accept", headers=invitee)
    assert accepted.status_code == 200


def test_a_refused_mail_is_recorded_and_the_invitation_still_works(client, owner, inbox):
    pid = project(client, owner)
    inbox.refuse = True
    sent = _invite(client, owner, pid)
    (listed,) = _listed(client, owner, pid)
    assert listed["mail_status"] == "failed"
    assert "554" in listed["mail_error"] and "relay refused" in listed["mail_error"]
    assert "p@ss" not in listed["mail_error"] and "mailer" not in listed["mail_error"]
    assert client.get(f"{API}/invitations/{sent['token']}").status_code == 200


def test_wrong_smtp_credentials_are_recorded(client, owner, inbox, monkeypatch):
    from filament.core.settings import get_settings

    url = get_settings().smtp_url
    assert url is not None
    monkeypatch.setenv("FILAMENT_SMTP_URL", url.replace("p%40ss%20word", "wrong"))
    get_settings.cache_clear()
    pid = project(client, owner)
    _invite(client, owner, pid)
    (listed,) = _listed(client, owner, pid)
    assert listed["mail_status"] == "failed"
    assert "SMTPAuthenticationError" in listed["mail_error"] and "wrong" not in listed["mail_error"]
    assert inbox.messages == []


def test_smtp_settings_are_checked_at_start():
    from filament.core.settings import Settings

    with pytest.raises(ValueError, match="FILAMENT_SMTP_FROM"):
        Settings(smtp_url="smtp://127.0.0.1:25")
    with pytest.raises(ValueError, match="smtp://"):
        Settings(smtp_url="http://127.0.0.1:25", smtp_from="a@example.com")


def test_a_mail_server_that_never_answers_does_not_hold_up_the_owner(env, monkeypatch):
    """A real server (uvicorn): the answer comes at once; the mail is tried after it, fails
    after FILAMENT_SMTP_TIMEOUT_SECONDS, and the list says so."""
    import uvicorn
    from filament.api.app import create_app
    from filament.core.settings import get_settings

    silent = socket.socket()  # accepts connections (the kernel does) and never greets
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setenv("FILAMENT_SMTP_URL", f"smtp://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setenv("FILAMENT_SMTP_FROM", "filament@example.com")
    monkeypatch.setenv("FILAMENT_SMTP_TIMEOUT_SECONDS", "3")
    get_settings.cache_clear()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            owner = register(http)
            pid = project(http, owner)
            started = time.monotonic()
            sent = _invite(http, owner, pid)
            took = time.monotonic() - started
            assert took < 2, f"the invitation took {took:.1f} s: it waited for the mail"
            assert sent["url"].startswith(f"http://127.0.0.1:{port}/invite/?token=")
            assert _listed(http, owner, pid)[0]["mail_status"] == "sending"
            deadline = time.monotonic() + 20
            while _listed(http, owner, pid)[0]["mail_status"] == "sending":
                assert time.monotonic() < deadline, "the mail was never given up on"
                time.sleep(0.2)
            (listed,) = _listed(http, owner, pid)
            assert listed["mail_status"] == "failed" and "timed out" in listed["mail_error"]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        silent.close()
