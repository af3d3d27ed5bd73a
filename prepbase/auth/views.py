from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from prepbase import accounts
from prepbase.auth.blueprint import bp
from prepbase.auth.forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, SetPasswordForm
from prepbase.errors import DomainError
from prepbase.extensions import db, limiter
from prepbase.forms import apply_domain_error, form_status
from prepbase.guards import dashboard_endpoint
from prepbase.htmx import hx_redirect, render
from prepbase.mail.accounts import send_password_reset
from prepbase.models import User
from prepbase.tenant_url import signed_in_here

GENERIC_LOGIN_ERROR = "Wrong e-mail or password."


def safe_next(target: str | None) -> str | None:
    """Only same-site paths inside this business; anything else is ignored."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    if not target.startswith(f"/{g.tenant.slug}/"):
        return None
    return target


def _start_session(user: User) -> None:
    # A fresh session at every sign-in: nothing from before (fixation) survives.
    session.clear()
    login_user(user)
    session.permanent = True


@bp.get("/")
def index() -> Response:
    if signed_in_here():
        return redirect(url_for(dashboard_endpoint(current_user.role)))
    return redirect(url_for(".login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login() -> Response:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if signed_in_here():
            return redirect(url_for(dashboard_endpoint(current_user.role)))
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.email.data or "", form.password.data or "")
        if user is not None:
            db.session.commit()
            _start_session(user)
            return hx_redirect(safe_next(form.next.data) or url_for(dashboard_endpoint(user.role)))
        form.form_errors.append(GENERIC_LOGIN_ERROR)
    return render("auth/login.html", block="form", status=form_status(), form=form)


@bp.post("/logout")
def logout() -> Response:
    if signed_in_here():
        accounts.end_all_sessions(db.session, current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return hx_redirect(url_for(".login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"], methods=["POST"])
def forgot_password() -> Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ttl = timedelta(minutes=current_app.config["RESET_TTL_MINUTES"])
        found = accounts.request_password_reset(db.session, form.email.data or "", ttl)
        if found is not None:
            user, raw = found
            send_password_reset(db.session, g.tenant, user, raw)
        db.session.commit()
        # The same answer whether or not the address has an account.
        return render("auth/forgot_sent.html", block="form", email=form.email.data)
    return render("auth/forgot.html", block="form", status=form_status(), form=form)


def _set_password_page(raw: str, purpose: str, template: str) -> Response:
    token = accounts.find_valid_token(db.session, raw, purpose)
    if token is None:
        return render("auth/link_invalid.html", status=410, purpose=purpose)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.use_token_to_set_password(
                db.session, raw, purpose, form.password.data or ""
            )
        except DomainError as exc:
            db.session.rollback()
            apply_domain_error(form, exc)
        else:
            db.session.commit()
            _start_session(user)
            flash(
                "Your password is set. Welcome!"
                if purpose == "invite"
                else "Your password was changed.",
                "success",
            )
            return hx_redirect(url_for(dashboard_endpoint(user.role)))
    return render(template, block="form", status=form_status(), form=form, invitee=token.user)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"], methods=["POST"])
def accept_invite(token: str) -> Response:
    return _set_password_page(token, "invite", "auth/accept_invite.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"], methods=["POST"])
def reset_password(token: str) -> Response:
    return _set_password_page(token, "reset", "auth/reset_password.html")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response:
    if not signed_in_here():
        return redirect(url_for(".login"))
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                db.session,
                current_user,
                form.current_password.data or "",
                form.password.data or "",
            )
        except DomainError as exc:
            db.session.rollback()
            apply_domain_error(form, exc)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # keep this browser signed in
            flash("Your password was changed. Other browsers were signed out.", "success")
            return hx_redirect(url_for(dashboard_endpoint(current_user.role)))
    return render("auth/change_password.html", block="form", status=form_status(), form=form)
