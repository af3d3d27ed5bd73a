"""Form pieces shared by several blueprints."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask import request
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from prepbase.accounts import MIN_PASSWORD_LENGTH

# Offered first in the time zone list: where most of our businesses are.
COMMON_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Vancouver",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Berlin",
    "Europe/Paris",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
]


@cache
def timezone_choices() -> list[SelectChoice]:
    """Common zones first, then every IANA zone alphabetically."""
    everything = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    rest = [z for z in everything if z not in COMMON_ZONES]
    return [SelectChoice(z, z.replace("_", " ")) for z in COMMON_ZONES + rest]


def email_field(label: str = "E-mail") -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message="Enter a valid e-mail address."),
        ],
        render_kw={"autocomplete": "email"},
    )


def name_field(label: str, max_length: int = 120) -> StringField:
    return StringField(label, validators=[DataRequired(), Length(max=max_length)])


def timezone_field() -> SelectField:
    return SelectField(
        "Time zone",
        choices=timezone_choices,
        validate_choice=True,
        default="America/New_York",
    )


def new_password_fields(label: str = "Password") -> tuple[PasswordField, PasswordField]:
    return (
        PasswordField(
            label,
            validators=[
                DataRequired(),
                Length(
                    min=MIN_PASSWORD_LENGTH,
                    max=200,
                    message=f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.",
                ),
            ],
            render_kw={"autocomplete": "new-password"},
            description=f"At least {MIN_PASSWORD_LENGTH} characters.",
        ),
        PasswordField(
            "Repeat the password",
            validators=[DataRequired(), EqualTo("password", message="The passwords differ.")],
            render_kw={"autocomplete": "new-password"},
        ),
    )


class ActionForm(FlaskForm):
    """An empty form: POST-only buttons carry CSRF through it."""


def apply_domain_error(form: FlaskForm, exc: Exception) -> None:
    """Put a domain error's message under its field (or on the form as a whole)."""
    field_name = getattr(exc, "field", None)
    message = getattr(exc, "message", str(exc))
    field = getattr(form, field_name, None) if field_name else None
    if field is not None:
        field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    else:
        form.form_errors.append(message)


def form_status() -> int:
    """A form shown again after a POST is a refused submission: 422, else 200."""
    return 422 if request.method == "POST" else 200
