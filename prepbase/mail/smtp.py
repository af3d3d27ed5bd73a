"""The wire: turning outbox rows into e-mails and handing them to the SMTP server.

TLS (STARTTLS or SSL) checks the server's certificate and host name with the system's
certificate authorities, or with MAIL_CA_FILE when the server's certificate comes from a
private CA: an unchecked connection would hand the SMTP password to whoever answers.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """What one outbox row needs to become an e-mail."""

    id: int
    to_addr: str
    subject: str
    body: str
    html_body: str | None
    message_id: str
    created_at: datetime
    ical: str | None = None  # an iCalendar invitation (METHOD:REQUEST or CANCEL)


def one_line(text: str, limit: int = 200) -> str:
    """A header-safe single line: control characters and line breaks become spaces (no
    header can be smuggled in through a student's name), runs of spaces collapse."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def reply_to(name: str, email: str | None) -> str | None:
    """The business's contact e-mail as a Reply-To value, or None without a usable one."""
    if not email:
        return None
    try:
        return str(Address(display_name=one_line(name, 120), addr_spec=email))
    except (ValueError, MessageError, IndexError):
        log.warning("contact e-mail %r cannot be a Reply-To; left out", email)
        return None


def build(message: Outgoing, *, sender: str, reply_address: str | None) -> EmailMessage:
    """The e-mail of one outbox row: a plain-text part, and the HTML alternative if any.

    Date is when the message was written (the change it reports), and Message-ID was
    chosen then too, so a retry is the same message for the receiving side.
    """
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_addr
    email["Subject"] = one_line(message.subject)
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    if reply_address:
        email["Reply-To"] = reply_address
    email.set_content(message.body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
    if message.ical:
        # Calendar clients read the method from the part's Content-Type (RFC 6047).
        method = "CANCEL" if "METHOD:CANCEL" in message.ical else "REQUEST"
        email.add_attachment(
            message.ical.encode(),
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": method, "charset": "utf-8"},
        )
    return email


def tls_context() -> ssl.SSLContext:
    """Certificate and host name checked; MAIL_CA_FILE replaces the system's CAs."""
    return ssl.create_default_context(cafile=current_app.config.get("MAIL_CA_FILE") or None)


def connect() -> smtplib.SMTP:
    """An SMTP connection as configured (SSL, STARTTLS or plain), logged in if asked."""
    cfg = current_app.config
    smtp: smtplib.SMTP
    if cfg["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(
            cfg["MAIL_HOST"], cfg["MAIL_PORT"], timeout=10, context=tls_context()
        )
    else:
        smtp = smtplib.SMTP(cfg["MAIL_HOST"], cfg["MAIL_PORT"], timeout=10)
    try:
        if cfg["MAIL_USE_TLS"] and not cfg["MAIL_USE_SSL"]:
            smtp.starttls(context=tls_context())
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def send_all(
    messages: Sequence[Outgoing], *, reply_address: str | None
) -> tuple[list[int], dict[int, str]]:
    """Send over one SMTP connection; returns the ids sent and an error per id not sent.

    A refused recipient (or a message that cannot be built) fails that message only; a
    connection that cannot be made or breaks fails the rest of the batch at once (one
    timeout, not one per message)."""
    sent: list[int] = []
    failed: dict[int, str] = {}
    sender = current_app.config["MAIL_FROM"]
    if current_app.config["MAIL_BACKEND"] == "console":
        for m in messages:
            log.info("e-mail to %s: %s\n%s", m.to_addr, m.subject, m.body)
            sent.append(m.id)
        return sent, failed
    smtp: smtplib.SMTP | None = None
    try:
        for index, m in enumerate(messages):
            try:
                email = build(m, sender=sender, reply_address=reply_address)
            except (ValueError, MessageError) as exc:
                log.warning("e-mail %s to %s cannot be built: %s", m.id, m.to_addr, exc)
                failed[m.id] = f"The message could not be built: {exc}"
                continue
            try:
                smtp = smtp or connect()
                smtp.send_message(email)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                log.warning("e-mail %s to %s refused: %s", m.id, m.to_addr, exc)
                failed[m.id] = str(exc)
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("e-mail %s to %s failed: %s", m.id, m.to_addr, exc)
                failed.update((rest.id, str(exc)) for rest in messages[index:])
                break
            else:
                sent.append(m.id)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return sent, failed
