"""A business's webhook endpoints (Settings → Webhooks): add, change, turn off and on,
delete, a new secret; and Resend of one delivery. Every change to which endpoints are
active keeps `Tenant.webhook_types` in step (`refresh_types`)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from prepbase.errors import DomainError
from prepbase.models import (
    DeliveryStatus,
    EventType,
    Tenant,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from prepbase.paging import Page, paginate
from prepbase.webhook_delivery import ssrf
from prepbase.webhooks.events import ALL, forget_endpoints

MAX_DESCRIPTION = 200
MAX_ENDPOINTS = 20  # per business: each event is sent to each of them


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: `whsec_` and 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def refresh_types(session: Session, tenant: Tenant) -> None:
    """Write on the business's row the event types its active endpoints receive."""
    rows = session.scalars(
        select(WebhookEndpoint.event_types).where(WebhookEndpoint.active.is_(True))
    ).all()
    types: set[str] = set()
    for row in rows:
        types |= set(row.split())
    tenant.webhook_types = ALL if ALL in types else " ".join(sorted(types))
    session.flush()
    forget_endpoints(session)


def _types(chosen: Iterable[str] | None) -> str:
    if chosen is None:
        return ALL
    known = {t.value for t in EventType}
    picked = [t for t in chosen if t]
    unknown = [t for t in picked if t not in known]
    if unknown:
        raise DomainError(f"Unknown event type: {unknown[0]}.", field="events")
    if not picked:
        raise DomainError("Choose at least one event, or All events.", field="events")
    return " ".join(t.value for t in EventType if t.value in picked)  # the list's order


def _description(text: str | None) -> str:
    text = " ".join((text or "").split())
    if len(text) > MAX_DESCRIPTION:
        raise DomainError(
            f"Use at most {MAX_DESCRIPTION} characters for the description.", field="description"
        )
    return text


def add_endpoint(
    session: Session,
    tenant: Tenant,
    *,
    url: str,
    description: str | None = None,
    event_types: Iterable[str] | None = None,
) -> WebhookEndpoint:
    """A new active endpoint with a new secret; `event_types` None = every event. The URL
    must be http(s) and resolve to public addresses (`ssrf`)."""
    count = session.scalar(select(func.count(WebhookEndpoint.id))) or 0
    if count >= MAX_ENDPOINTS:
        raise DomainError(f"A business can have at most {MAX_ENDPOINTS} webhook endpoints.")
    types, text = _types(event_types), _description(description)
    ssrf.resolve(url)
    endpoint = WebhookEndpoint(
        url=url.strip(), description=text, event_types=types, secret=new_secret()
    )
    session.add(endpoint)
    session.flush()
    refresh_types(session, tenant)
    return endpoint


def edit_endpoint(
    session: Session,
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    *,
    url: str,
    description: str | None = None,
    event_types: Iterable[str] | None = None,
) -> None:
    """Change an endpoint's URL, description or events (deliveries waiting go to the
    new URL)."""
    types, text = _types(event_types), _description(description)
    ssrf.resolve(url)
    endpoint.url, endpoint.description, endpoint.event_types = url.strip(), text, types
    session.flush()
    refresh_types(session, tenant)


def set_endpoint_active(
    session: Session,
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    active: bool,
    reason: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Turn an endpoint on (its failure count starts again) or off (`reason` says why);
    False when it already was. One winner under races (a conditional UPDATE)."""
    values: dict[str, Any] = {"active": active}
    if active:
        values |= {"disabled_reason": None, "disabled_at": None}
        values |= {"consecutive_failures": 0, "failing_since": None}
    else:
        values |= {"disabled_reason": (reason or "")[:300], "disabled_at": now or utcnow()}
    updated = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.active.is_(not active))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    moved = bool(cast(CursorResult[Any], updated).rowcount)
    session.refresh(endpoint)
    if moved:
        refresh_types(session, tenant)
    return moved


def delete_endpoint(session: Session, tenant: Tenant, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log; its events stay for other endpoints."""
    session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .execution_options(synchronize_session=False)
    )
    session.delete(endpoint)
    session.flush()
    refresh_types(session, tenant)


def rotate_secret(session: Session, endpoint: WebhookEndpoint) -> str:
    """A new signing secret; deliveries from now on are signed with it."""
    endpoint.secret = new_secret()
    session.flush()
    return endpoint.secret


def resend(session: Session, delivery: WebhookDelivery, now: datetime | None = None) -> None:
    """An admin's Resend: the delivery is pending again, due now, with its attempts
    counted from zero; it keeps its event, so the receiver sees the same `webhook-id`."""
    updated = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            WebhookDelivery.status.in_((DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)),
        )
        .values(
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now or utcnow(),
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult[Any], updated).rowcount:
        raise DomainError("This delivery is waiting to be sent already.")
    session.refresh(delivery)


def endpoints_of(session: Session) -> list[WebhookEndpoint]:
    """The business's endpoints, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def delivery_log(
    session: Session, endpoint: WebhookEndpoint, page: int = 1
) -> Page[WebhookDelivery]:
    """One page of an endpoint's deliveries, newest first, each with its event (one
    statement)."""
    return paginate(
        session,
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .options(joinedload(WebhookDelivery.event))
        .order_by(WebhookDelivery.id.desc()),
        page,
    )
