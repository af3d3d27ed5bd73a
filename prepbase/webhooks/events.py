"""Events: written in the caller's transaction, like the mail outbox, so an event is
never sent for a change that was rolled back, nor lost for one that was committed.

`emit` first asks the business's row (loaded with every request) whether any active
endpoint receives the type (`Tenant.webhook_types`): a business without endpoints pays
no statement at all. Otherwise it writes the event (its JSON built once, the same bytes
for every endpoint and every retry) and one pending delivery per endpoint that receives
it; `flask prepbase deliver-webhooks` sends them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from prepbase.models import Package, Tenant, WebhookDelivery, WebhookEndpoint, WebhookEvent, utcnow
from prepbase.tenancy import current_tenant_id
from prepbase.webhooks.payloads import BUILDERS, envelope

ALL = "*"
ENDPOINTS_KEY = "prepbase.webhook_endpoints"  # session.info: {tenant id: its active endpoints}


def new_event_id() -> str:
    """The `webhook-id` receivers dedupe on: `msg_` and 128 random bits."""
    return "msg_" + secrets.token_hex(16)


def wants(tenant: Tenant, event_type: str) -> bool:
    """Whether some active endpoint of the business receives `event_type` (no query)."""
    types = (tenant.webhook_types or "").split()
    return ALL in types or event_type in types


def emit(
    session: Session, tenant: Tenant, event_type: str, *objects: object
) -> WebhookEvent | None:
    """Record `event_type` about `objects` (what its `payloads` builder takes) for every
    active endpoint that receives it; None when none does. Flushes nothing: the caller's
    transaction writes it with the change."""
    if not wants(tenant, event_type):
        return None
    endpoints = [e for e in _active_endpoints(session, tenant) if e.subscribes_to(event_type)]
    if not endpoints:
        return None
    now = utcnow()
    data = BUILDERS[event_type](tenant, *objects)
    event = WebhookEvent(
        public_id=new_event_id(),
        type=event_type,
        payload=json.dumps(envelope(event_type, now, data), separators=(",", ":")),
        created_at=now,
    )
    session.add(event)
    for endpoint in endpoints:
        session.add(WebhookDelivery(event=event, endpoint_id=endpoint.id, next_attempt_at=now))
    return event


def _active_endpoints(session: Session, tenant: Tenant) -> list[WebhookEndpoint]:
    """The business's active endpoints, read once per transaction: a weekly series or an
    import emits an event per session or package, and the endpoints do not change under
    it. The copy is dropped when they change (`forget_endpoints`), at commit and at any
    rollback."""
    copies: dict[int, list[WebhookEndpoint]] = session.info.setdefault(ENDPOINTS_KEY, {})
    found = copies.get(tenant.id)
    if found is None:
        found = copies[tenant.id] = list(
            session.scalars(
                select(WebhookEndpoint)
                .where(WebhookEndpoint.active.is_(True))
                .order_by(WebhookEndpoint.id)
            )
        )
    return found


def forget_endpoints(session: Session) -> None:
    """Drop the transaction's copy of the endpoints: every change to which endpoints are
    active, or what they receive, calls this (`webhook_delivery.endpoints.refresh_types`)."""
    session.info.pop(ENDPOINTS_KEY, None)


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    forget_endpoints(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _previous: SessionTransaction) -> None:
    # A savepoint's rollback too: it may have undone an endpoint change. A savepoint
    # released keeps the copy (its changes stand, and `forget_endpoints` saw them).
    forget_endpoints(session)


def emit_in_scope(session: Session, event_type: str, *objects: object) -> WebhookEvent | None:
    """`emit` for the business in scope, from code that is not handed it (the ledger).
    Its row is in the session already during a request: no statement to find it."""
    tenant_id = current_tenant_id()
    tenant = session.get(Tenant, tenant_id) if tenant_id is not None else None
    if tenant is None:
        return None
    return emit(session, tenant, event_type, *objects)


def emit_packages(session: Session, event_type: str, package_ids: Sequence[int]) -> int:
    """`emit` once per package of `package_ids` (an import's new packages), loading them
    only when some endpoint receives `event_type`. How many events were written."""
    tenant_id = current_tenant_id()
    tenant = session.get(Tenant, tenant_id) if tenant_id is not None else None
    if tenant is None or not package_ids or not wants(tenant, event_type):
        return 0
    found = session.scalars(select(Package).where(Package.id.in_(package_ids)).order_by(Package.id))
    return sum(emit(session, tenant, event_type, package) is not None for package in found)
