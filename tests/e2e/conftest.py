"""Browser tests: a live server on loopback, driven by Debian's Chromium through Playwright.

Unlike the rest of the suite these tests commit for real (a live server in another thread
must see the data), so every test takes its business slugs from `tenants` and the tenants
are deleted afterwards (every tenant-owned table cascades from `tenant`).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from werkzeug.serving import make_server

from prepbase import create_app
from prepbase.extensions import db
from tests.conftest import app_config, free_port
from tests.fake_stripe import STRIPE_CONFIG_KEYS, stripe_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
HERE = Path(__file__).resolve().parent

# Assertions wait as long as actions do (10 s, `new_page`): on a loaded two-core CI machine
# running two workers, an htmx swap took longer than Playwright's default 5 s.
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


# --- the live server ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_app(app, database_url, smtp_server) -> Iterator[Flask]:
    """A second app on the migrated database (`app` ran the migrations), committing for real."""
    application = create_app(
        "testing", **app_config(database_url, smtp_server[0].port, PUBLIC_BASE_URL=None)
    )
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app) -> Iterator[str]:
    """The base URL ("http://127.0.0.1:PORT") of `live_app` served in a daemon thread."""
    port = free_port()
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # no line per request in the test output
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    werkzeug_log.setLevel(level)


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        message = (
            f"Browser tests need Debian's Chromium at {CHROMIUM}: "
            "apt-get install chromium (or `make chromium`)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must never skip the browser tests silently
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Browser, live_server: str) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh context (own cookies); `phone=True` for a 390×844 phone."""
    contexts: list[BrowserContext] = []

    def open_page(phone: bool = False) -> Page:
        options: dict[str, object] = {"base_url": live_server, "locale": "en-US"}
        if phone:
            options.update(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        else:
            options.update(viewport=DESKTOP)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


@pytest.fixture
def phone_page(new_page: Callable[..., Page]) -> Page:
    return new_page(phone=True)


# --- data a test creates, and its removal ------------------------------------------------


@dataclass
class Tenants:
    """Unique business slugs for one test; the businesses are deleted after it."""

    slugs: list[str] = field(default_factory=list)

    def new_slug(self, prefix: str = "e2e") -> str:
        slug = f"{prefix}-{uuid.uuid4().hex[:12]}"
        assert len(slug) <= 40, slug
        self.slugs.append(slug)
        return slug


@pytest.fixture
def tenants(live_app) -> Iterator[Tenants]:
    registry = Tenants()
    yield registry
    if not registry.slugs:
        return
    with live_app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM tenant WHERE slug IN :slugs").bindparams(
                    sa.bindparam("slugs", expanding=True)
                ),
                {"slugs": registry.slugs},
            )


@pytest.fixture
def in_live_app(live_app) -> Callable[..., object]:
    """Run `fn(session)` inside the live app's context and commit what it did."""

    def run(fn: Callable[..., object]) -> object:
        with live_app.app_context():
            try:
                result = fn(db.session)
                db.session.commit()
                return result
            finally:
                db.session.remove()

    return run


@pytest.fixture
def live_stripe(live_app, stripe_server) -> Iterator:
    """The live server talks to the fake Stripe during this test."""
    stripe_server.reset()
    saved = {key: live_app.config.get(key) for key in STRIPE_CONFIG_KEYS}
    live_app.config.update(stripe_settings(stripe_server))
    yield stripe_server
    live_app.config.update(saved)


# --- layout ------------------------------------------------------------------------------


def assert_fits_viewport(page: Page) -> None:
    """`assert_no_sideways_scroll` at the page's own viewport width."""
    viewport = page.viewport_size
    assert viewport is not None
    assert_no_sideways_scroll(page, viewport["width"])


def assert_no_sideways_scroll(page: Page, width: int) -> None:
    """The page is no wider than `width`, once its stylesheet has loaded and what was
    being laid out has settled (measured at once on a loaded machine, a page caught
    mid-layout read wider than it is)."""
    page.wait_for_load_state("load")
    try:
        page.wait_for_function(
            "w => document.documentElement.scrollWidth <= w", arg=width, timeout=5_000
        )
    except PlaywrightTimeoutError:
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        raise AssertionError(f"{page.url}: {scroll_width} px wide, more than {width}") from None
