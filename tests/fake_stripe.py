"""A fake Stripe API on loopback, and webhook events signed the way Stripe signs them.

Only the endpoints PrepBase calls exist: accounts (create, retrieve), account links,
Checkout Sessions (create, retrieve, expire), subscriptions (retrieve, update
cancel_at_period_end) and refunds (create, list). The real `stripe`
library talks to it over HTTP (`STRIPE_API_BASE`), so its encoding, headers, idempotency
keys and error handling all run; every request is recorded for the tests to inspect.
Like Stripe, a repeated idempotency key replays the first answer (and a key reused with
other parameters is an error).

The fixtures are loaded by `tests/conftest.py` (`pytest_plugins`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

WEBHOOK_SECRET = "whsec_test_prepbase_connect"
SECRET_KEY = "sk_test_prepbase_fake"
STRIPE_CONFIG_KEYS = (
    "STRIPE_SECRET_KEY",
    "STRIPE_CONNECT_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_TIMEOUT_SECONDS",
    "PLATFORM_FEE_PERCENT",
)


def nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back to objects: a[b][0][c]=1 → {"a": {"b": [{"c": "1"}]}}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: lists(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return lists(root)


@dataclass
class Sent:
    """One request the stripe library sent."""

    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]

    @property
    def account(self) -> str | None:
        return self.headers.get("Stripe-Account")

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class FakeStripe:
    base_url: str = ""
    sent: list[Sent] = field(default_factory=list)
    accounts: dict[str, dict] = field(default_factory=dict)
    sessions: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    failures: list[tuple[int, str]] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    _replays: dict[tuple, tuple[str, dict]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            for store in (self.sent, self.failures, self.delays):
                store.clear()
            for mapping in (
                self.accounts,
                self.sessions,
                self.subscriptions,
                self.refunds,
                self._replays,
            ):
                mapping.clear()

    # --- what the tests steer ------------------------------------------------------------

    def fail_next(self, status: int = 500, message: str = "Something went wrong") -> None:
        """The next API request answers with a Stripe error."""
        self.failures.append((status, message))

    def stall_next(self, seconds: float) -> None:
        """The next API request answers only after `seconds` (a timeout for the client)."""
        self.delays.append(seconds)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}"

    def enable_charges(self, account_id: str, enabled: bool = True) -> dict:
        self.accounts[account_id]["charges_enabled"] = enabled
        self.accounts[account_id]["details_submitted"] = enabled
        return self.accounts[account_id]

    def add_account(self, charges_enabled: bool = True) -> str:
        account_id = self.new_id("acct")
        self.accounts[account_id] = self._account(account_id, charges_enabled)
        return account_id

    def pay(self, session_id: str, *, delayed: bool = False, start: int | None = None) -> dict:
        """The family pays on Checkout: the session completes (paid, or unpaid while a
        delayed bank payment clears) and gets its payment intent or subscription."""
        session = self.sessions[session_id]
        session["status"] = "complete"
        session["payment_status"] = "unpaid" if delayed else "paid"
        if session["mode"] == "subscription":
            sub_id = self.new_id("sub")
            start = start or int(time.time())
            self.subscriptions[sub_id] = {
                "id": sub_id,
                "object": "subscription",
                "status": "active",
                "cancel_at_period_end": False,
                "start_date": start,
                "billing_cycle_anchor": start,
                "metadata": session["_subscription_metadata"],
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": self.new_id("si"),
                            "object": "subscription_item",
                            "current_period_start": start,
                        }
                    ],
                },
            }
            session["subscription"] = sub_id
            session["invoice"] = self.new_id("in")
        else:
            session["payment_intent"] = self.new_id("pi")
        return self.public(session)

    def settle_delayed(self, session_id: str, succeeded: bool = True) -> dict:
        session = self.sessions[session_id]
        session["payment_status"] = "paid" if succeeded else "unpaid"
        return self.public(session)

    @staticmethod
    def public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def requests_to(self, method: str, path_prefix: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method and s.path.startswith(path_prefix)]

    # --- the API -------------------------------------------------------------------------

    def _account(self, account_id: str, charges_enabled: bool = False) -> dict:
        return {
            "id": account_id,
            "object": "account",
            "charges_enabled": charges_enabled,
            "details_submitted": charges_enabled,
            "payouts_enabled": charges_enabled,
        }

    def _create_account(self, params: dict) -> dict:
        account_id = self.new_id("acct")
        account = self._account(account_id)
        account["controller"] = params.get("controller")
        account["metadata"] = params.get("metadata", {})
        self.accounts[account_id] = account
        return account

    def _create_link(self, params: dict) -> dict:
        if params.get("account") not in self.accounts:
            raise KeyError(params.get("account"))
        return {
            "object": "account_link",
            "url": f"{self.base_url}/onboarding/{params['account']}/{next(self._ids)}",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 300,
        }

    def _create_session(self, params: dict, account: str | None) -> dict:
        if account not in self.accounts:
            raise KeyError(account)
        session_id = self.new_id("cs")
        line = params["line_items"][0]
        amount = int(line["price_data"]["unit_amount"]) * int(line["quantity"])
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{self.base_url}/checkout/{session_id}",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": line["price_data"]["currency"],
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}),
            "expires_at": int(params.get("expires_at", time.time() + 86400)),
            "payment_intent": None,
            "subscription": None,
            "invoice": None,
            "_subscription_metadata": params.get("subscription_data", {}).get("metadata", {}),
        }
        self.sessions[session_id] = session
        return self.public(session)

    def _payment_amount(self, payment_intent: str) -> tuple[int, str]:
        for session in self.sessions.values():
            if session.get("payment_intent") == payment_intent:
                return session["amount_total"], session["currency"]
        raise KeyError(payment_intent)

    def refund(self, payment_intent: str, amount: int | None = None) -> dict:
        """A refund of a one-time payment (made through the API or the Dashboard)."""
        paid, currency = self._payment_amount(payment_intent)
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == payment_intent
        )
        amount = paid - refunded if amount is None else int(amount)
        if amount <= 0 or refunded + amount > paid:
            raise ValueError("amount_too_large")
        refund_id = self.new_id("re")
        self.refunds[refund_id] = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": currency,
            "payment_intent": payment_intent,
            "charge": f"ch_for_{payment_intent}",
            "status": "succeeded",
            "created": int(time.time()),
        }
        return self.refunds[refund_id]

    def charge(self, payment_intent: str) -> dict:
        """The payment's charge as `charge.refunded` carries it (no refunds list)."""
        paid, currency = self._payment_amount(payment_intent)
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == payment_intent
        )
        return {
            "id": f"ch_for_{payment_intent}",
            "object": "charge",
            "amount": paid,
            "amount_refunded": refunded,
            "currency": currency,
            "payment_intent": payment_intent,
            "refunded": refunded == paid,
        }

    def _route(self, method: str, path: str, params: dict, account: str | None) -> dict:
        if method == "POST" and path == "/v1/accounts":
            return self._create_account(params)
        if method == "GET" and (m := re.fullmatch(r"/v1/accounts/([\w]+)", path)):
            return self.accounts[m.group(1)]
        if method == "POST" and path == "/v1/account_links":
            return self._create_link(params)
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params, account)
        if method == "POST" and (m := re.fullmatch(r"/v1/checkout/sessions/([\w]+)/expire", path)):
            session = self.sessions[m.group(1)]
            if session["status"] != "open":
                raise LookupError("session is not open")
            session["status"] = "expired"
            return self.public(session)
        if method == "GET" and (m := re.fullmatch(r"/v1/checkout/sessions/([\w]+)", path)):
            return self.public(self.sessions[m.group(1)])
        if method == "GET" and (m := re.fullmatch(r"/v1/subscriptions/([\w]+)", path)):
            return self.subscriptions[m.group(1)]
        if method == "POST" and (m := re.fullmatch(r"/v1/subscriptions/([\w]+)", path)):
            subscription = self.subscriptions[m.group(1)]
            if "cancel_at_period_end" in params:
                subscription["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
            return subscription
        if method == "POST" and path == "/v1/refunds":
            return self.refund(params["payment_intent"], params.get("amount"))
        if method == "GET" and path == "/v1/refunds":
            data = [
                r for r in self.refunds.values() if r["payment_intent"] == params["payment_intent"]
            ]
            return {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        raise LookupError(path)

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        if not request.path.startswith("/v1/"):
            # The pages a browser is sent to (Checkout, onboarding): a plain page.
            page = (
                "<!doctype html><title>Fake Stripe</title>"
                f"<h1>Fake Stripe</h1><p>{request.path}</p>"
            )
            return Response(page, mimetype="text/html")(environ, start_response)
        pairs = parse_qsl(request.get_data(as_text=True) or request.query_string.decode())
        params = nested(pairs)
        headers = {k: v for k, v in request.headers.items()}
        with self.lock:
            self.sent.append(Sent(request.method, request.path, headers, params))
            delay = self.delays.pop(0) if self.delays else 0
            failure = self.failures.pop(0) if self.failures else None
        if delay:
            time.sleep(delay)
        if failure:
            status, message = failure
            body = {"error": {"type": "api_error", "message": message}}
            return Response(json.dumps(body), status, mimetype="application/json")(
                environ, start_response
            )
        if not headers.get("Authorization", "").startswith("Bearer sk_test_"):
            body = {"error": {"type": "invalid_request_error", "message": "No API key"}}
            return Response(json.dumps(body), 401, mimetype="application/json")(
                environ, start_response
            )
        key = headers.get("Idempotency-Key")
        replay_key = (headers.get("Stripe-Account"), key) if request.method == "POST" else None
        with self.lock:
            if replay_key and replay_key in self._replays:
                first_params, answer = self._replays[replay_key]
                if first_params != json.dumps(params, sort_keys=True):
                    body = {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used "
                            "with the same parameters they were first used with.",
                        }
                    }
                    return Response(json.dumps(body), 400, mimetype="application/json")(
                        environ, start_response
                    )
                response = Response(json.dumps(answer), 200, mimetype="application/json")
                response.headers["Idempotent-Replayed"] = "true"
                return response(environ, start_response)
            try:
                answer = self._route(
                    request.method, request.path, params, headers.get("Stripe-Account")
                )
            except (KeyError, LookupError) as exc:
                body = {"error": {"type": "invalid_request_error", "message": f"No such: {exc}"}}
                return Response(json.dumps(body), 404, mimetype="application/json")(
                    environ, start_response
                )
            except ValueError as exc:
                body = {
                    "error": {
                        "type": "invalid_request_error",
                        "code": str(exc),
                        "message": "Refund amount is greater than unrefunded amount.",
                    }
                }
                return Response(json.dumps(body), 400, mimetype="application/json")(
                    environ, start_response
                )
            if replay_key and key:
                self._replays[replay_key] = (json.dumps(params, sort_keys=True), answer)
        return Response(json.dumps(answer), 200, mimetype="application/json")(
            environ, start_response
        )


# --- events, signed like Stripe -----------------------------------------------------------

_event_ids = itertools.count(1)


def event(kind: str, obj: dict, account: str | None, event_id: str | None = None) -> dict:
    """A Stripe event (snapshot payload) of a connected account."""
    body = {
        "id": event_id or f"evt_test_{next(_event_ids):06d}_{int(time.time() * 1000)}",
        "object": "event",
        # Stripe sends a connected account's events in the platform's version: the one
        # this stripe library pins (its objects are shaped for that version).
        "api_version": stripe.api_version,
        "created": int(time.time()),
        "type": kind,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": FakeStripe.public(obj)},
    }
    if account:
        body["account"] = account
    return body


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header: t=<unix time>,v1=HMAC-SHA256(secret, f"{t}.{body}")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def post_event(client: Any, body: dict | str, *, secret: str = WEBHOOK_SECRET, **sign_kw: Any):
    """Deliver an event to the webhook as Stripe does (raw JSON body, signed)."""
    payload = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        "/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": sign(payload, secret, **sign_kw)},
        content_type="application/json",
    )


def invoice(
    subscription: dict,
    period_start: int,
    *,
    billing_reason: str = "subscription_cycle",
    amount: int = 0,
    invoice_id: str | None = None,
    currency: str = "usd",
) -> dict:
    """A paid invoice of a subscription, for `invoice.paid`."""
    return {
        "id": invoice_id or f"in_test_{next(_event_ids):06d}",
        "object": "invoice",
        "status": "paid",
        "billing_reason": billing_reason,
        "amount_paid": amount,
        "currency": currency,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": subscription["id"],
                "metadata": subscription.get("metadata", {}),
            },
        },
        "lines": {
            "object": "list",
            "data": [
                {
                    "object": "line_item",
                    "period": {"start": period_start, "end": period_start + 30 * 86400},
                }
            ],
        },
    }


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    from tests.conftest import free_port

    fake = FakeStripe()
    port = free_port()
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = make_server("127.0.0.1", port, fake, threaded=True)
    fake.base_url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, name="fake-stripe", daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    werkzeug_log.setLevel(level)


def stripe_settings(fake: FakeStripe, **overrides: Any) -> dict[str, Any]:
    from decimal import Decimal

    settings: dict[str, Any] = {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_CONNECT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake.base_url,
        "STRIPE_TIMEOUT_SECONDS": 5,
        "PLATFORM_FEE_PERCENT": Decimal(0),
    }
    settings.update(overrides)
    return settings


@pytest.fixture
def fake_stripe(app, stripe_server) -> Iterator[FakeStripe]:
    """The app talks to the fake Stripe for this test (platform keys configured)."""
    stripe_server.reset()
    saved = {key: app.config.get(key) for key in STRIPE_CONFIG_KEYS}
    app.config.update(stripe_settings(stripe_server))
    yield stripe_server
    app.config.update(saved)
