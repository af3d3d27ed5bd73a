"""Sending webhooks: at least once, signed per Standard Webhooks, backing off.

`deliver_due` (run by `flask prepbase deliver-webhooks`, every minute) claims each due
delivery with a conditional UPDATE (`claimed_until`: two workers never send the same
one at once, and one that died mid-send lets it go when the claim runs out), commits,
POSTs, and writes the outcome. 2xx = delivered; anything else is tried again after
`BACKOFF` (about a day in all), then `failed` until an admin resends it. An endpoint
whose attempts have all failed for `DISABLE_AFTER` (at least `DISABLE_MIN_FAILURES` in a
row) is turned off and the business's admins are e-mailed.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from prepbase.errors import DomainError
from prepbase.mail import webhooks as webhook_mail
from prepbase.models import (
    DeliveryStatus,
    Tenant,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from prepbase.tenancy import as_tenant, current_tenant_id
from prepbase.webhook_delivery import ssrf
from prepbase.webhook_delivery.endpoints import set_endpoint_active

log = logging.getLogger(__name__)

# The wait after the 1st, 2nd... failed attempt; the attempt after the last wait is the
# final one (9 attempts over about 26 hours).
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=6),
    timedelta(hours=6),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
TIMEOUT_SECONDS = 10.0
# A claim outlives one attempt (connect and read, each up to the timeout) with room.
CLAIM = timedelta(seconds=60)
DISABLE_AFTER = timedelta(hours=24)
DISABLE_MIN_FAILURES = 5
MAX_ERROR = 300
USER_AGENT = "PrepBase-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the response's status code (None: no response) and why
    it failed (None: it did not)."""

    code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def retry_at(attempts: int, now: datetime) -> datetime:
    """When a delivery that failed its `attempts`-th try is tried again."""
    return now + BACKOFF[min(attempts, len(BACKOFF)) - 1]


def sign(secret: str, event_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (`at`: its whole second, UTC)."""
    at = at.astimezone(UTC).replace(microsecond=0)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to the checked address, with the URL's host in `Host`."""

    def __init__(self, target: ssrf.Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to the checked address; the certificate is checked against
    the URL's host name (SNI too), as for any HTTPS request."""

    def __init__(self, target: ssrf.Target, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: str, headers: dict[str, str], timeout: float | None = None) -> Outcome:
    """POST `body` to `url` after checking where it goes (`ssrf`); redirects are not
    followed (a 3xx is a failure, like any answer but 2xx). `timeout`: `TIMEOUT_SECONDS`."""
    timeout = timeout or TIMEOUT_SECONDS
    try:
        target = ssrf.resolve(url)
    except DomainError as exc:
        return Outcome(None, exc.message)
    connection: http.client.HTTPConnection = (
        _PinnedHTTPS(target, timeout) if target.scheme == "https" else _PinnedHTTP(target, timeout)
    )
    try:
        connection.request(
            "POST",
            target.path,
            body=body.encode(),
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        response = connection.getresponse()
        response.read(65536)
        code = response.status
    except TimeoutError:
        return Outcome(None, f"No answer within {timeout:g} seconds.")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    finally:
        connection.close()
    if 200 <= code < 300:
        return Outcome(code, None)
    return Outcome(code, f"The endpoint answered {code}.")


def _due(now: datetime) -> list[Any]:
    return [
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until <= now),
    ]


def _claim(session: Session, delivery_id: int, now: datetime) -> int | None:
    """Take one due delivery for this worker; its attempt number, or None when another
    worker has it (or it is not due any more)."""
    claimed = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, *_due(now))
        .values(
            claimed_until=now + CLAIM,
            attempts=WebhookDelivery.attempts + 1,
            last_attempt_at=now,
        )
        .returning(WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    session.commit()
    return claimed


def _succeeded(session: Session, delivery_id: int, endpoint_id: int, outcome: Outcome) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=DeliveryStatus.DELIVERED,
            response_code=outcome.code,
            last_error=None,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(consecutive_failures=0, failing_since=None)
        .execution_options(synchronize_session=False)
    )


def _failed(
    session: Session,
    delivery_id: int,
    endpoint_id: int,
    attempts: int,
    outcome: Outcome,
    now: datetime,
) -> None:
    final = attempts >= MAX_ATTEMPTS
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
            response_code=outcome.code,
            last_error=(outcome.error or "")[:MAX_ERROR],
            next_attempt_at=now if final else retry_at(attempts, now),
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    failures, since = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(
            consecutive_failures=WebhookEndpoint.consecutive_failures + 1,
            failing_since=func.coalesce(WebhookEndpoint.failing_since, now),
        )
        .returning(WebhookEndpoint.consecutive_failures, WebhookEndpoint.failing_since)
        .execution_options(synchronize_session=False)
    ).one()
    if final:
        log.warning("webhook delivery %s failed for good: %s", delivery_id, outcome.error)
    if failures >= DISABLE_MIN_FAILURES and since is not None and since <= now - DISABLE_AFTER:
        _disable(session, endpoint_id, failures, now)


def _disable(session: Session, endpoint_id: int, failures: int, now: datetime) -> None:
    tenant = session.get_one(Tenant, current_tenant_id())
    endpoint = session.get_one(WebhookEndpoint, endpoint_id)
    reason = f"Turned off after {failures} failed attempts in a row over more than a day."
    if set_endpoint_active(session, tenant, endpoint, False, reason, now):
        log.warning("webhook endpoint %s of %s turned off: %s", endpoint_id, tenant.slug, reason)
        webhook_mail.endpoint_disabled(session, tenant, endpoint)


def deliver_due(session: Session, now: datetime | None = None, limit: int = 200) -> int:
    """Send the due deliveries of the business in scope to its active endpoints; how
    many were delivered. Commits after each claim and each outcome (the POST happens
    outside any transaction). `now` (tests) pins the clock of the schedule."""
    started = now or utcnow()
    ids = session.scalars(
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookEndpoint.active.is_(True), *_due(started))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    ).all()
    session.commit()
    delivered = 0
    for delivery_id in ids:
        at = now or utcnow()
        attempts = _claim(session, delivery_id, at)
        if attempts is None:
            continue
        row = session.execute(
            select(
                WebhookEndpoint.id,
                WebhookEndpoint.url,
                WebhookEndpoint.secret,
                WebhookEvent.public_id,
                WebhookEvent.payload,
            )
            .select_from(WebhookDelivery)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == delivery_id)
        ).one()
        session.commit()
        outcome = post(row.url, row.payload, sign(row.secret, row.public_id, row.payload, utcnow()))
        if outcome.ok:
            _succeeded(session, delivery_id, row.id, outcome)
            delivered += 1
        else:
            _failed(session, delivery_id, row.id, attempts, outcome, at)
        session.commit()
    return delivered


def deliver_everywhere(session: Session, now: datetime | None = None) -> int:
    """`deliver_due` for every business with a delivery due (found in one statement)."""
    started = now or utcnow()
    tenant_ids = session.scalars(
        select(WebhookDelivery.tenant_id)
        .distinct()
        .where(*_due(started))
        .execution_options(prepbase_unscoped=True)
    ).all()
    session.commit()
    delivered = 0
    for tenant_id in sorted(tenant_ids):
        with as_tenant(tenant_id):
            delivered += deliver_due(session, now)
    return delivered


def due_count(session: Session, now: datetime | None = None) -> int:
    """How many deliveries of the business in scope wait to be sent (Settings page)."""
    return cast(
        int,
        session.scalar(select(func.count(WebhookDelivery.id)).where(*_due(now or utcnow()))) or 0,
    )
