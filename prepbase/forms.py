"""Form pieces shared by several blueprints."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast
from zoneinfo import available_timezones

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
    widgets,
)

# WTForms 3.3's choice; its stubs (types-wtforms 3.2) predate it, so it reads as Any.
# Imported from here by every module that builds choices.
from wtforms import SelectChoice as SelectChoice  # type: ignore[attr-defined]
from wtforms.fields.core import UnboundField
from wtforms.form import BaseForm
from wtforms.validators import DataRequired, Email, EqualTo, Length, StopValidation

from prepbase.accounts import MIN_PASSWORD_LENGTH
from prepbase.inputs import (
    MULTI_LINE_MESSAGE,
    ONE_LINE_MESSAGE,
    has_control_characters,
    parse_id,
)
from prepbase.localtime import DAY_OUT_OF_RANGE, FIRST_DAY, LAST_DAY

_F = TypeVar("_F", bound=Field)


def _plain_text(multiline: bool) -> Callable[[FlaskForm, Field], None]:
    message = MULTI_LINE_MESSAGE if multiline else ONE_LINE_MESSAGE

    def check(_form: FlaskForm, field: Field) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data, multiline=multiline):
            raise ValidationError(message)

    return check


class Form(FlaskForm):
    """The base of every PrepBase form: each text field a person types into refuses
    control characters (a message under the field), whatever else its form checks.

    Multi-line fields (textareas) keep tabs and line breaks; one-line fields refuse them
    too, since names and e-mail addresses end up in e-mail headers. Hidden fields carry
    what the page itself wrote, and their readers check them (`safe_next`); a password
    is only ever hashed, and refusing characters at sign-in could lock someone out. A
    NUL byte never gets this far: `prepbase.inputs` refuses it for the whole request."""

    if TYPE_CHECKING:
        # Flask-WTF ships no types: what its constructor and check take and give.
        def __init__(self, formdata: Any = ..., **kwargs: Any) -> None: ...
        def validate_on_submit(self, extra_validators: Any = None) -> bool: ...

    class Meta(FlaskForm.Meta):
        def bind_field(
            self, form: BaseForm, unbound_field: UnboundField[_F], options: MutableMapping[str, Any]
        ) -> _F:
            field = super().bind_field(form, unbound_field, options)
            if isinstance(field, StringField) and not isinstance(
                field, HiddenField | PasswordField
            ):
                multiline = isinstance(field, TextAreaField)
                # A new list: the declared one is shared by every instance of the form.
                field.validators = [*field.validators, _plain_text(multiline)]
            return field


class DayField(DateField):
    """A calendar day between FIRST_DAY and LAST_DAY: every form with a date uses it.

    A day outside is refused while the input is read: `data` is None, so pages that use
    a date from the URL without validating (the open times) never compute with it, and
    the message is already the field's error, so those pages show it too.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            self.data = None
            self.errors = [DAY_OUT_OF_RANGE]
            raise ValueError(DAY_OUT_OF_RANGE)


def id_text(value: object) -> str:
    """Coerce for IdSelectField: "" (no choice) or the id in plain digits; ValueError for
    anything no row can have (letters, other digits, 0, above 2³¹−1)."""
    text = str(value)
    if text == "":
        return ""
    number = parse_id(text)
    if number is None:
        raise ValueError(text)
    return str(number)


class IdSelectField(SelectField):
    """A select of rows by id (students, staff). A value that cannot be an id never
    becomes the field's data, so nothing looks it up even before validation; validation
    then says it is not a choice (`invalid_choice_message`, when given, for both)."""

    def __init__(
        self,
        label: str | None = None,
        validators: tuple[Any, ...] | list[Any] | None = None,
        *,
        invalid_choice_message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            label,
            validators,
            coerce=id_text,
            # WTForms 3.3's messages; its stubs (types-wtforms 3.2) predate them.
            invalid_choice_message=invalid_choice_message,  # type: ignore[call-arg]
            invalid_value_message=invalid_choice_message or "Not a valid choice.",
            **kwargs,
        )

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            # Its message is already the error; DataRequired would replace it with "This
            # field is required." (the field's data is empty), so stop here.
            raise StopValidation()
        super().pre_validate(form)


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes, in a fieldset whose legend is the label (the
    `field` macro)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


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
            validators=[
                DataRequired(),
                Length(max=200),
                EqualTo("password", message="The passwords differ."),
            ],
            render_kw={"autocomplete": "new-password"},
        ),
    )


def known_choice(message: str) -> Callable[[FlaskForm, SelectField], None]:
    """A validator for a select that skips `validate_choice` (filters read from the query
    string): a value not among the choices gets `message`; the empty "any" choice passes."""

    def check(_form: FlaskForm, field: SelectField) -> None:
        if field.data and not any(c.value == field.data for c in choices(field)):
            raise ValidationError(message)

    return check


def choices(field: SelectField) -> list[SelectChoice]:
    """A select's choices: the `SelectChoice`s every PrepBase select is given (the stubs
    know only the tuples of older WTForms)."""
    return cast("list[SelectChoice]", field.choices)


class ActionForm(Form):
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
