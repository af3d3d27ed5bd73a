"""E-mail: an outbox written inside the user's transaction, delivered after the commit.

Writing the message in the same transaction as the change means an invitation is never
sent for a user that was rolled back, and a message whose delivery fails stays pending
for `flask prepbase send-mail` instead of being lost.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from prepbase.models import OutboundEmail, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A message claimed longer ago than this was left by a sender that crashed mid-send.
STALE_CLAIM = timedelta(minutes=15)


def queue_email(session: Session, to_addr: str, subject: str, body: str) -> OutboundEmail:
    """Add a message to the outbox of the current tenant; it is sent after commit."""
    message = OutboundEmail(to_addr=to_addr, subject=subject, body=body)
    session.add(message)
    if has_request_context():
        g.outbox_pending = True
    return message


def _email(message: Row[Any]) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.to_addr
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    smtp_cls = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = smtp_cls(cfg["MAIL_HOST"], cfg["MAIL_PORT"], timeout=10)
    try:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send_all(messages: Sequence[Row[Any]]) -> tuple[list[int], dict[int, str]]:
    """Send over one SMTP connection; returns the ids sent and an error per id not sent.

    A refused recipient fails that message only; a connection that cannot be made or
    breaks fails the rest of the batch at once (one timeout, not one per message)."""
    sent: list[int] = []
    failed: dict[int, str] = {}
    if current_app.config["MAIL_BACKEND"] == "console":
        for m in messages:
            log.info("e-mail to %s: %s\n%s", m.to_addr, m.subject, m.body)
            sent.append(m.id)
        return sent, failed
    smtp: smtplib.SMTP | None = None
    try:
        for index, m in enumerate(messages):
            try:
                smtp = smtp or _connect()
                smtp.send_message(_email(m))
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


def requeue_stale(session: Session, now: datetime | None = None) -> int:
    """Put back messages whose sender died after claiming them (they may go out twice,
    which beats never: SMTP gives no way to know whether the crashed send happened)."""
    cutoff = (now or utcnow()) - STALE_CLAIM
    requeued = session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.status == "sending", OutboundEmail.claimed_at < cutoff)
        .values(status="pending")
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return requeued or 0


def deliver_pending(session: Session, limit: int = 50) -> int:
    """Send pending messages of the tenant in scope; returns how many went out.

    The batch is claimed with one conditional UPDATE first, so two processes running
    this at once never send the same message twice, and the results are written in one
    transaction after sending: a few statements however many messages there are.
    """
    ids = session.scalars(
        select(OutboundEmail.id)
        .where(OutboundEmail.status == "pending", OutboundEmail.attempts < MAX_ATTEMPTS)
        .order_by(OutboundEmail.id)
        .limit(limit)
    ).all()
    if not ids:
        session.commit()
        return 0
    claimed = session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(ids), OutboundEmail.status == "pending")
        .values(status="sending", attempts=OutboundEmail.attempts + 1, claimed_at=utcnow())
        .returning(
            OutboundEmail.id,
            OutboundEmail.to_addr,
            OutboundEmail.subject,
            OutboundEmail.body,
            OutboundEmail.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    claimed.sort(key=lambda m: m.id)
    sent, failed = _send_all(claimed)
    if sent:
        session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(sent))
            .values(status="sent", sent_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    for m in claimed:
        if m.id in failed:
            session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id == m.id)
                .values(
                    status="pending" if m.attempts < MAX_ATTEMPTS else "failed",
                    last_error=failed[m.id][:1000],
                )
                .execution_options(synchronize_session=False)
            )
    session.commit()
    return len(sent)
