"""The home page with its Sign in forms, business sign-up, and the health checks."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, jsonify, redirect, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from prepbase import readiness
from prepbase.accounts import sign_in_accounts
from prepbase.business import find_business, signup_business
from prepbase.errors import DomainError
from prepbase.extensions import db, limiter
from prepbase.forms import apply_domain_error, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.mail.accounts import send_sign_in_links
from prepbase.mail.outbox import deliver_pending
from prepbase.public.blueprint import bp
from prepbase.public.forms import FindBusinessForm, SignInLinksForm, SignupForm
from prepbase.tenancy import as_tenant


def _sign_in_page(
    template: str, block: str = "content", status: int | None = None, **forms: object
) -> Response:
    return render(
        template,
        block=block,
        status=status or form_status(),
        business_form=forms.get("business_form") or FindBusinessForm(formdata=None),
        links_form=forms.get("links_form") or SignInLinksForm(formdata=None),
        links_sent=forms.get("links_sent", False),
    )


@bp.get("/")
def home() -> Response:
    return _sign_in_page("public/home.html")


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def sign_in() -> Response:
    """Sign in, step one: the business's URL name leads to its own sign-in page."""
    form = FindBusinessForm()
    if form.validate_on_submit():
        try:
            tenant = find_business(db.session, form.business.data or "")
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            return hx_redirect(url_for("tenant.auth.login", tenant_slug=tenant.slug))
    return _sign_in_page("public/signin.html", "business_form", business_form=form)


@bp.post("/signin/links")
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"])
def sign_in_links() -> Response:
    """Forgot the URL name: e-mail the address its sign-in links. The page says the same
    whether or not the address has an account, and the e-mails leave after the answer
    has gone, so the SMTP conversation does not show in how long the answer takes."""
    form = SignInLinksForm()
    if not form.validate_on_submit():
        return _sign_in_page("public/signin.html", "links_form", links_form=form)
    queued = send_sign_in_links(db.session, sign_in_accounts(db.session, form.email.data or ""))
    db.session.commit()
    g.pop("outbox_pending", None)  # not in this request's after_request: see below
    response = _sign_in_page("public/signin.html", "links_form", 200, links_sent=True)
    response.call_on_close(_deliver_later(queued))
    return response


def _deliver_later(tenant_ids: list[int]) -> Callable[[], None]:
    # Run once the response is sent (WSGI close), in an app context of its own; the
    # messages wait in each business's outbox meanwhile (and for `send-mail` on failure).
    # `current_app` is a proxy, typed as the Flask app it stands for.
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def deliver() -> None:
        with app.app_context():
            for tenant_id in tenant_ids:
                with as_tenant(tenant_id):
                    try:
                        deliver_pending(db.session)
                    except Exception:
                        app.logger.exception("sending sign-in links failed; they stay pending")

    return deliver


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
def signup() -> Response:
    form = SignupForm()
    if form.validate_on_submit():
        try:
            tenant, admin = signup_business(
                db.session,
                business_name=form.business_name.data or "",
                slug=form.slug.data or "",
                timezone=form.timezone.data,
                admin_name=form.admin_name.data or "",
                email=form.email.data or "",
                password=form.password.data or "",
            )
        except DomainError as exc:
            db.session.rollback()  # a failed sign-up leaves no half-made business
            apply_domain_error(form, exc)
        else:
            db.session.commit()
            session.clear()
            with as_tenant(tenant.id):
                login_user(admin)
            return hx_redirect(url_for("tenant.admin.dashboard", tenant_slug=tenant.slug))
    return render(
        "public/signup.html",
        block="form",
        status=form_status(),
        form=form,
        signed_in=current_user.is_authenticated,
    )


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive (nothing else is asked)."""
    return Response("ok", mimetype="text/plain")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready for traffic: 200 when the database, its migrations and Redis (when set)
    are fine, else 503 naming the failed checks (`prepbase/readiness.py`)."""
    checks = readiness.check(db.session, current_app.config.get("REDIS_URL"))
    db.session.rollback()  # only read; end the transaction the check opened
    failed = readiness.failed(checks)
    body = {"status": "not ready" if failed else "ready", "failed": failed, "checks": checks}
    response = jsonify(body)
    response.status_code = 503 if failed else 200
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    return redirect(url_for("static", filename="favicon.svg"), code=301)
