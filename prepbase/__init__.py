"""PrepBase: prepaid tutoring hours for tutoring and counseling businesses."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.middleware.proxy_fix import ProxyFix

from config import load_config
from prepbase import error_reports, errorpages, inputs, places, request_log
from prepbase.accounts import load_user_for_session
from prepbase.api import spec as api
from prepbase.billing import bp as billing_bp
from prepbase.cli import prepbase_cli
from prepbase.cookie_session import RenewingSessionInterface
from prepbase.extensions import csrf, db, limiter, login_manager, migrate
from prepbase.hours import format_hours, hours_phrase
from prepbase.htmx import hx_redirect
from prepbase.localtime import format_when, when_texts
from prepbase.mail.outbox import deliver_pending
from prepbase.models import utcnow
from prepbase.money import format_money
from prepbase.paths import INSTANCE, MIGRATIONS, STATIC, TEMPLATES
from prepbase.portal import tenant_bp
from prepbase.public import bp as public_bp
from prepbase.tenant_url import leave_tenant, signed_in_here
from prepbase.transactions import UnitOfWorkFlask  # reads without a transaction, see there


def create_app(env: str | None = None, **overrides: Any) -> Flask:
    """Application factory: configure, then register extensions, blueprints, handlers."""
    app = UnitOfWorkFlask(
        __name__,
        template_folder=str(TEMPLATES),
        static_folder=str(STATIC),
        instance_path=str(INSTANCE),
    )
    app.config.from_mapping(load_config(env, **overrides))
    app.session_interface = RenewingSessionInterface()
    # Logging first: its after-request hook must be the first registered (it runs last).
    request_log.init_app(app)
    error_reports.init_app(app)
    proxies = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if proxies:
        # Flask's documented way to wrap the WSGI app (mypy sees a method replaced).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    register_extensions(app)
    register_input_checks(app)  # before the blueprints: their routes use the `id` converter
    register_blueprints(app)
    register_errorhandlers(app)
    register_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def unauthorized() -> Any:
        if "tenant" in g:
            return hx_redirect(
                url_for("tenant.auth.login", next=request.full_path.rstrip("?")), 302
            )
        return hx_redirect(url_for("public.home"), 302)

    @login_manager.user_loader
    def load_user(cookie_id: str) -> Any:
        return load_user_for_session(db.session, cookie_id, g.pop("prefetched_user", None))


def register_input_checks(app: Flask) -> None:
    inputs.init_app(app)


def register_blueprints(app: Flask) -> None:
    api.init_app(app)
    app.register_blueprint(public_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(tenant_bp)


def register_errorhandlers(app: Flask) -> None:
    errorpages.register(app)


def register_hooks(app: Flask) -> None:
    @app.after_request
    def send_queued_mail(response: Any) -> Any:
        # Mail queued by this request's transaction goes out once it has committed.
        if g.pop("outbox_pending", False) and response.status_code < 400:
            try:
                deliver_pending(db.session, tenant=g.get("tenant"))
            except Exception:  # never turn a saved action into an error page
                app.logger.exception("sending queued e-mail failed; it stays pending")
        return response

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; base-uri 'self'",
        )
        if hsts := app.config.get("HSTS_VALUE"):  # production only: https from now on
            response.headers.setdefault("Strict-Transport-Security", hsts)
        if request.path.startswith("/static/"):
            return response
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.teardown_request(leave_tenant)


def register_template_helpers(app: Flask) -> None:
    def nav_current(endpoint: str) -> Markup:
        return Markup('aria-current="page"') if request.endpoint == endpoint else Markup("")

    def when(moment: Any) -> str:
        return format_when(g.tenant.timezone if "tenant" in g else "UTC", moment)

    def when_fits(moment: Any) -> Markup:
        """The long form on a wide screen, its day and its time each kept on one line
        (a narrow column wraps between them, not inside), and "Tue 1 Dec, 4:00 PM" on a
        phone (app.css shows one of the two; the other is display:none, read once)."""
        if moment is None:
            return Markup("")
        long, short = when_texts(g.tenant.timezone if "tenant" in g else "UTC", moment)
        day, _, hour = long.partition(", ")
        # Each value escaped here: `Markup.format` costs several times as much, on every
        # time of every page.
        return Markup(  # noqa: S704 - every value in it is escaped
            f'<span class="when-long"><span class="nowrap">{escape(day)},</span> '
            f'<span class="nowrap">{escape(hour)}</span></span>'
            f'<span class="when-short">{escape(short)}</span>'
        )

    def has_field_errors(form: Any) -> bool:
        return any(field.errors for field in form)

    def money(minor: int | None, currency: str | None) -> str:
        """An amount written the way the business in the URL writes money."""
        return format_money(minor, currency, g.tenant.locale if "tenant" in g else None)

    app.jinja_env.globals.update(
        signed_in_here=signed_in_here, nav_current=nav_current, has_field_errors=has_field_errors
    )
    app.jinja_env.filters.update(
        hours=format_hours, hours_phrase=hours_phrase, when=when, when_fits=when_fits
    )
    app.jinja_env.globals.update(money=money)
    # The form macros are globals, so a block rendered alone for HTMX can use them too
    # (a block does not run its template's top-level imports).
    forms = _macros(app, "_macros/forms.html")
    app.jinja_env.globals.update(
        field=forms.field,
        form_errors=forms.form_errors,
        form_refusal=forms.form_refusal,
        filter_errors=forms.filter_errors,
        open_form=forms.open_form,
        post_button=forms.post_button,
        pager=_macros(app, "_macros/pager.html").pager,
        how_to_reach=_macros(app, "_macros/contact.html").how_to_reach,
    )
    # Where a session is, as the signed-in person may read it now (design §11).
    app.jinja_env.globals.update(
        session_place=lambda ts: places.place_of(ts, current_user, utcnow())
    )
    kinds = _macros(app, "_macros/categories.html")
    app.jinja_env.globals.update(
        category_chip=kinds.category_chip,
        session_kind_facts=kinds.session_kind_facts,
        session_kind_line=kinds.session_kind_line,
    )
    # After the form macros: a macro module sees the globals there were when it loaded.
    sessions = _macros(app, "_macros/sessions.html")
    app.jinja_env.globals.update(
        session_status=sessions.session_status,
        series_note=sessions.series_note,
        plan_facts=sessions.plan_facts,
        plan_for_family=sessions.plan_for_family,
        session_table=sessions.session_table,
        decline_booking_form=sessions.decline_booking_form,
        confirm_booking_button=sessions.confirm_booking_button,
    )


def _macros(app: Flask, template: str) -> Any:
    """A template's macros, as attributes (Jinja sets them when it runs the template)."""
    return app.jinja_env.get_template(template).module


def register_commands(app: Flask) -> None:
    app.cli.add_command(prepbase_cli)
