from __future__ import annotations

from flask import current_app, redirect, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from prepbase.business import signup_business
from prepbase.errors import DomainError
from prepbase.extensions import db, limiter
from prepbase.forms import apply_domain_error, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.public.blueprint import bp
from prepbase.public.forms import SignupForm
from prepbase.tenancy import as_tenant


@bp.get("/")
def home() -> Response:
    return render("public/home.html")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
def signup() -> Response:
    form = SignupForm()
    if form.validate_on_submit():
        try:
            tenant, admin = signup_business(
                db.session,
                business_name=form.business_name.data,
                slug=form.slug.data,
                timezone=form.timezone.data,
                admin_name=form.admin_name.data,
                email=form.email.data,
                password=form.password.data,
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
    return Response("ok", mimetype="text/plain")


@bp.get("/favicon.ico")
def favicon() -> Response:
    return redirect(url_for("static", filename="favicon.svg"), code=301)
