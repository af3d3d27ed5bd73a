"""Forms for the catalogue of offerings, ＋ Add Package, and manual hour adjustments."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    Field,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, Optional

from prepbase import hours, money
from prepbase.errors import DomainError
from prepbase.forms import DayField, Form
from prepbase.models import Offering, PackageType, Period, Service
from prepbase.money import DEFAULT_CURRENCY

CUSTOM = "custom"
SERVICE_CHOICES = [SelectChoice(s.value, s.label) for s in Service]
TYPE_CHOICES = [SelectChoice(t.value, t.label) for t in PackageType]
PERIOD_CHOICES = [SelectChoice("", "None (One-Time)")] + [
    SelectChoice(p.value, p.label) for p in Period
]
NAME_MAX = 120


def _hours_field(label: str, description: str) -> StringField:
    return StringField(
        label,
        validators=[Length(max=20)],
        description=description,
        render_kw={"inputmode": "decimal"},
    )


class PackageTermsForm(Form):
    """What a package is: shared by offerings and by custom packages.

    The checks run only when `uses_terms()`; ＋ Add Package skips them when an offering
    supplies the terms. `minutes` holds the parsed hours after validation.
    """

    name = StringField("Package Name", validators=[Length(max=NAME_MAX)])
    service = SelectField("Package Service", choices=SERVICE_CHOICES, default=Service.TUTORING)
    package_type = SelectField("Package Type", choices=TYPE_CHOICES, default=PackageType.ONE_TIME)
    period = SelectField(
        "Renewal period",
        choices=PERIOD_CHOICES,
        default="",
        description="Recurring packages grant their hours again every week or month.",
    )
    hours = _hours_field("Hours", "Per period for a recurring package; for example 10 or 2.5.")
    rollover = BooleanField("Unused hours roll over to the next period (Recurring only)")

    minutes: int | None = None

    def uses_terms(self) -> bool:
        return True

    def validate_name(self, field: Field) -> None:
        if self.uses_terms() and not (field.data or "").strip():
            raise ValidationError("Give the package a name.")

    def validate_period(self, field: Field) -> None:
        if self.uses_terms() and self.package_type.data == PackageType.RECURRING and not field.data:
            raise ValidationError("Choose how often a recurring package renews.")

    def validate_hours(self, field: Field) -> None:
        if not self.uses_terms():
            return
        try:
            self.minutes = hours.parse_hours(
                field.data, field="hours", max_hours=hours.MAX_PACKAGE_HOURS
            )
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def fill_from(self, offering: Offering) -> None:
        """Show an offering's terms in the fields (＋ Add Package, editing an offering)."""
        self.name.data = offering.name
        self.service.data = str(offering.service)
        self.package_type.data = str(offering.package_type)
        self.period.data = str(offering.period or "")
        self.hours.data = hours.format_hours(offering.minutes)
        self.rollover.data = offering.rollover


class OfferingForm(PackageTermsForm):
    """A catalogue entry, with its price and whether families may buy it online.

    `currency` (the business's) is set by the view before validation; `price_minor`
    holds the parsed price afterwards.
    """

    price = StringField(
        "Price",
        validators=[Length(max=20)],
        render_kw={"inputmode": "decimal"},
    )
    sold_online = BooleanField(
        "Families may buy this online",
        description="Shown under Buy Hours while online payments are on (Settings).",
    )

    currency: str = DEFAULT_CURRENCY
    price_minor: int = 0

    def set_currency(self, currency: str) -> None:
        self.currency = currency
        self.price.description = (
            f"In {currency.upper()}; for a Recurring package, the price of each period. "
            "Leave empty if you only assign it by hand."
        )

    def validate_price(self, field: Field) -> None:
        try:
            self.price_minor = money.parse_price(field.data, self.currency)
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def validate_sold_online(self, field: Field) -> None:
        if field.data and not self.price_minor and not self.price.errors:
            raise ValidationError("Set a price to let families buy this online.")

    def fill_from(self, offering: Offering) -> None:
        super().fill_from(offering)
        self.price.data = (
            money.amount_text(offering.price_minor, offering.currency)
            if offering.price_minor
            else ""
        )
        self.sold_online.data = offering.sold_online


class PackageForm(PackageTermsForm):
    """＋ Add Package: an offering of the catalogue, or a custom package."""

    offering = SelectField("Offering", default=CUSTOM)
    start_date = DayField("Start Date", validators=[InputRequired(message="Choose a start date.")])
    expires_on = DayField(
        "Expiry date",
        validators=[Optional()],
        description="Optional: the package turns Inactive by itself after this day.",
    )

    def uses_terms(self) -> bool:
        return self.offering.data == CUSTOM

    def validate_expires_on(self, field: Field) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError("The expiry date must be on or after the start date.")


class AdjustForm(Form):
    """A manual correction of a package's hours, with the reason."""

    hours = _hours_field("Hours to add or remove", "Signed: 2 adds two hours, -1.5 removes 1.5.")
    note = TextAreaField(
        "Note",
        validators=[Length(max=1000)],
        description="Required: it is kept in the package's history.",
    )

    minutes: int | None = None

    def validate_hours(self, field: Field) -> None:
        try:
            self.minutes = hours.parse_hours(
                field.data,
                field="hours",
                max_hours=hours.MAX_PACKAGE_HOURS,
                allow_negative=True,
            )
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def validate_note(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError("Say why the hours change: the note is required.")
