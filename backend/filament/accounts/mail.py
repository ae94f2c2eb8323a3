"""Invitation mails over SMTP (FILAMENT_SMTP_URL), sent after the answer to the owner: a mail
server that is slow, down or refusing never delays or fails the invitation, whose link the
owner has in the answer anyway. What happened is kept on the invitation (`mail_status`,
`mail_error`), which the members page shows."""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from sqlmodel import Session

from filament.core.settings import Settings
from filament.db.models import Invitation, MailStatus

log = logging.getLogger("filament.mail")


@dataclass(frozen=True)
class InvitationMail:
    invitation_id: int
    to: str
    project: str
    role: str
    inviter: str | None
    url: str
    days: int


def compose(mail: InvitationMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    who = mail.inviter or "A project owner"
    message["Subject"] = f"{who} invites you to {mail.project} on Filament"
    message["From"] = sender
    message["To"] = mail.to
    message.set_content(
        f"{who} invites you to label with them in the Filament project {mail.project!r}, "
        f"as {mail.role}.\n\n"
        f"Open this link to join (it is valid for {mail.days} days and works once, for "
        f"{mail.to}):\n\n{mail.url}\n\n"
        "If you did not expect this invitation, ignore this mail.\n"
    )
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """One mail through the configured server; raises on any failure."""
    assert settings.smtp_url is not None
    url = urlparse(settings.smtp_url)
    host = url.hostname or "localhost"
    timeout = settings.smtp_timeout_seconds
    smtp: smtplib.SMTP
    if url.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(
            host, url.port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, url.port or 25, timeout=timeout)
    with smtp:
        if url.scheme == "smtp" and settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)


def deliver(session: Session, settings: Settings, mail: InvitationMail) -> None:
    """Send the invitation's mail and record how it went; never raises (it runs after the
    answer, where nobody could hear the error)."""
    assert settings.smtp_from is not None
    try:
        send(settings, compose(mail, settings.smtp_from))
    except Exception as error:  # any failure of the mail server or the network
        log.warning("invitation %s: the mail to %s failed: %s", mail.invitation_id, mail.to, error)
        _record(session, mail.invitation_id, MailStatus.failed, _reason(error))
    else:
        _record(session, mail.invitation_id, MailStatus.sent, None)


def _reason(error: Exception) -> str:
    """What the owner is shown: the kind of failure and the server's words, never the URL
    (it may hold the SMTP password)."""
    text = str(error)
    if isinstance(error, smtplib.SMTPResponseException):
        said = error.smtp_error
        said = said.decode(errors="replace") if isinstance(said, bytes) else said
        text = f"{error.smtp_code} {said}"
    return f"{type(error).__name__}: {text}"[:500]


def _record(session: Session, invitation_id: int, status: MailStatus, error: str | None) -> None:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:  # revoked or replaced before the mail went out
        return
    invitation.mail_status = status
    invitation.mail_error = error
    session.add(invitation)
    session.commit()
