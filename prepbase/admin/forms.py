"""The admin's forms: people, settings, packages and offerings, and the list filters."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    ColorField,
    Field,
    IntegerField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from prepbase import hours, money, packages, promotions
from prepbase.business import REMINDER_CHOICES, STEP_CHOICES
from prepbase.errors import DomainError
from prepbase.forms import (
    CheckboxesField,
    DayField,
    Form,
    IdSelectField,
    SelectChoice,
    choices,
    email_field,
    known_choice,
    name_field,
    timezone_field,
)
from prepbase.models import (
    ApiScope,
    EventType,
    ImportKind,
    Location,
    LocationType,
    Offering,
    PackageType,
    PaymentMethod,
    Period,
    PromoCode,
    PromoKind,
    Role,
    Service,
    SessionCategory,
    SessionStatus,
    Subject,
    WebhookEndpoint,
)
from prepbase.models.categories import DEFAULT_CATEGORY_COLOUR, DEFAULT_LINK_LEAD_MINUTES
from prepbase.money import CURRENCIES, DEFAULT_CURRENCY, DEFAULT_LOCALE, LOCALES
from prepbase.package_payments import MANUAL_METHODS, MAX_REFERENCE
from prepbase.packages import Terms
from prepbase.reports import MONTH, WEEK, ReportFilters

SERVICE_CHOICES = [SelectChoice(s.value, s.label) for s in Service]

# --- people -----------------------------------------------------------------------------

STAFF_ROLE_CHOICES = [
    SelectChoice(r.value, r.label) for r in (Role.TUTOR, Role.COUNSELOR, Role.ADMIN)
]
NEW_FAMILY = "new"


class StudentForm(Form):
    first_name = name_field("First name", 80)
    last_name = name_field("Last name", 80)
    grade = StringField("Grade", validators=[Optional(), Length(max=40)])
    school = StringField("School", validators=[Optional(), Length(max=120)])
    family = SelectField("Family", validators=[DataRequired()])
    new_family_name = StringField(
        "New family name",
        validators=[Optional(), Length(max=120)],
        description="Only when “New family” is chosen; defaults to the student's last name.",
    )
    address = StringField(
        "Address (optional)",
        validators=[Optional(), Length(max=300)],
        description="Where Student Address sessions take place; empty: the family's address. "
        "Only the student's tutor or counselor and admins see it.",
        render_kw={"autocomplete": "street-address"},
    )
    phone = TelField(
        "Phone (optional)",
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "tel"},
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class FamilyForm(Form):
    name = name_field("Family name")
    address = StringField(
        "Address (optional)",
        validators=[Optional(), Length(max=300)],
        description="Student Address sessions of students without an address of their own "
        "take place here. Only their tutor or counselor and admins see it.",
        render_kw={"autocomplete": "street-address"},
    )
    phone = TelField(
        "Phone (optional)",
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "tel"},
    )


class InviteParentForm(Form):
    name = name_field("Parent's name")
    email = email_field("Parent's e-mail")


class StudentLoginForm(Form):
    email = email_field("Student's e-mail")


class StaffInviteForm(Form):
    name = name_field("Name")
    email = email_field()
    role = SelectField("Role", choices=STAFF_ROLE_CHOICES, default=Role.TUTOR.value)
    services = CheckboxesField("Services", choices=SERVICE_CHOICES)


class StaffEditForm(Form):
    name = name_field("Name")
    role = SelectField("Role", choices=STAFF_ROLE_CHOICES)
    services = CheckboxesField("Services", choices=SERVICE_CHOICES)
    # The view offers the business's subjects (`set_subject_choices`).
    subjects = CheckboxesField("Subjects taught", choices=[])
    default_meeting_link = StringField(
        "Default meeting link (optional)",
        validators=[Optional(), Length(max=500)],
        description="Virtual Meeting sessions start with this link; it can be changed per session.",
        render_kw={"inputmode": "url", "placeholder": "https://"},
    )

    def set_subject_choices(self, subjects: list[Subject]) -> None:
        self.subjects.choices = [
            SelectChoice(str(s.id), f"{s.category.name} → {s.name}") for s in subjects
        ]


# --- Settings → Session Categories, Locations, Subjects -----------------------------------

LOCATION_TYPE_CHOICES = [SelectChoice(t.value, t.label) for t in LocationType]


def _whole_minutes(label: str, description: str, default: int = 0) -> IntegerField:
    return IntegerField(
        label,
        default=default,
        validators=[InputRequired(message="Enter a whole number.")],
        description=description,
    )


class CategoryForm(Form):
    """A session category: what the sessions are and where they take place."""

    name = name_field("Name", max_length=80)
    colour = ColorField(
        "Colour",
        default=DEFAULT_CATEGORY_COLOUR,
        validators=[InputRequired(message="Choose a colour."), Length(max=7)],
        description="Shown behind white text in the calendar and session lists, so it must "
        "be dark enough to read (contrast at least 4.5:1).",
    )
    location_type = SelectField("Where sessions take place", choices=LOCATION_TYPE_CHOICES)
    location = IdSelectField(
        "Location (Center sessions)",
        choices=[],
        invalid_choice_message="Choose one of your locations.",
        description="Center sessions show this location's name and address.",
    )
    buffer_before_minutes = _whole_minutes(
        "Buffer before (minutes)", "Kept free before each session: open times and overlaps."
    )
    buffer_after_minutes = _whole_minutes(
        "Buffer after (minutes)", "Kept free after each session: open times and overlaps."
    )
    reminder_hours = IntegerField(
        "E-mail reminder (hours before)",
        validators=[Optional()],
        description="Leave empty to use Settings → Scheduling; 0 sends none.",
    )
    link_lead_minutes = _whole_minutes(
        "Show the meeting link (minutes before the start)",
        "Virtual Meeting: the family and the staff member see the link from then on.",
        default=DEFAULT_LINK_LEAD_MINUTES,
    )
    capacity = _whole_minutes(
        "Seats per session",
        "1 for one-to-one sessions; more lets staff propose group sessions of up to this "
        "many students.",
        default=1,
    )
    late_cancel_window_hours = IntegerField(
        "Late-cancellation notice window (hours)",
        validators=[Optional()],
        description="Leave empty to use Settings → Cancellation Policy.",
    )
    late_cancel_keep_percent = IntegerField(
        "A late family cancellation keeps (% of the session's hours)",
        validators=[Optional()],
        description="Leave empty to use Settings → Cancellation Policy; 0 keeps nothing.",
    )
    families_may_join = BooleanField(
        "Families may add their student to an open group session",
        description="Families see its group sessions with a free seat on their dashboard "
        "and join them; the seat is paid from their student's package.",
    )

    def set_location_choices(self, locations: list[Location]) -> None:
        self.location.choices = [SelectChoice("", "None")] + [
            SelectChoice(str(loc.id), loc.name) for loc in locations
        ]

    def fill_from(self, category: SessionCategory) -> None:
        for name in (
            "name",
            "colour",
            "location_type",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "reminder_hours",
            "link_lead_minutes",
            "capacity",
            "late_cancel_window_hours",
            "late_cancel_keep_percent",
            "families_may_join",
        ):
            getattr(self, name).data = getattr(category, name)
        self.location.data = str(category.location_id or "")


class LocationForm(Form):
    name = name_field("Name")
    address = StringField(
        "Address", validators=[DataRequired(message="Give the address."), Length(max=300)]
    )


class SubjectForm(Form):
    name = name_field("Name", max_length=80)
    category = IdSelectField(
        "Category",
        choices=[],
        validators=[DataRequired(message="Choose a category.")],
        invalid_choice_message="Choose one of your categories.",
    )

    def set_category_choices(self, categories: list[SessionCategory]) -> None:
        self.category.choices = [SelectChoice(str(c.id), c.name) for c in categories]


# --- settings ---------------------------------------------------------------------------


class ApiKeyForm(Form):
    """Settings → API keys: a new key, named after the tool that will use it."""

    name = name_field("Name", max_length=80)
    scope = SelectField(
        "Access",
        choices=[SelectChoice(value, label) for value, label in ApiScope.LABELS.items()],
        default=ApiScope.READ,
        validate_choice=True,
        description="Read only suits reports and spreadsheets; read and write lets the tool "
        "propose and cancel sessions and add hours.",
    )


class WebhookEndpointForm(Form):
    """Settings → Webhooks: where events go and which ones (`prepbase.webhook_delivery`)."""

    url = StringField(
        "Endpoint URL",
        validators=[
            DataRequired(message="Enter the URL that receives the webhooks."),
            Length(max=2000, message="Use a URL of at most 2000 characters."),
        ],
        description="An https:// address of your own system; PrepBase POSTs each event to it.",
        render_kw={"inputmode": "url", "placeholder": "https://", "autocomplete": "off"},
    )
    description = StringField("Description (optional)", validators=[Optional(), Length(max=200)])
    all_events = BooleanField("All events, including ones added later", default=True)
    events = CheckboxesField(
        "Events",
        choices=[SelectChoice(t.value, t.value) for t in EventType],
        description="Used when All events is not ticked.",
    )

    def fill_from(self, endpoint: WebhookEndpoint) -> None:
        self.url.data, self.description.data = endpoint.url, endpoint.description
        types = endpoint.event_types.split()
        self.all_events.data = "*" in types
        self.events.data = [t for t in types if t != "*"]

    def chosen_types(self) -> list[str] | None:
        """None: every event; else the ticked ones."""
        return None if self.all_events.data else list(self.events.data or [])


class BusinessSettingsForm(Form):
    name = name_field("Business name")
    timezone = timezone_field()
    low_balance_hours = StringField(
        "Low-balance reminder (hours)",
        validators=[DataRequired(), Length(max=20)],
        description="Families are told when a package falls to this many hours, and at zero.",
        render_kw={"inputmode": "decimal"},
    )
    # How families reach the business: shown wherever they are told to contact it, and
    # the Reply-To of every e-mail (validated again by business.update_business).
    contact_email = email_field("Contact e-mail")
    contact_phone = TelField(
        "Contact phone (optional)",
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "tel"},
    )
    # Checked against the list and Babel by business.update_business.
    locale = SelectField(
        "How money is written",
        choices=[SelectChoice(code, name) for code, name in LOCALES.items()],
        default=DEFAULT_LOCALE,
        validate_choice=False,
        description="On receipts, prices and payments: the language and country's way.",
    )

    def show_examples(self, currency: str) -> None:
        """Each choice shows 1,240.50 in the business's currency written its way."""
        self.locale.choices = [
            SelectChoice(code, f"{name}: {money.format_money(124050, currency, code)}")
            for code, name in LOCALES.items()
        ]


class SchedulingSettingsForm(Form):
    """Settings → Scheduling: the rules for family bookings and reminders."""

    notice_hours = StringField(
        "Minimum notice for family bookings (hours)",
        validators=[DataRequired(), Length(max=20)],
        description="Families cannot book a session that starts sooner than this. 0 for none.",
        render_kw={"inputmode": "decimal"},
    )
    horizon_days = IntegerField(
        "How far ahead families may book (days)",
        validators=[InputRequired(message="Enter a number of days.")],
    )
    step_minutes = SelectField(
        "Open times start every",
        choices=[SelectChoice(str(m), f"{m} minutes") for m in STEP_CHOICES],
    )
    reminder_hours = SelectField(
        "E-mail reminder before each session",
        choices=[
            SelectChoice(str(h), f"{h} hours before" if h else "Off") for h in REMINDER_CHOICES
        ],
        description="To the family and the tutor or counselor.",
    )


NO_CHARGE, SHARE, ALL = "none", "percent", "all"


class CancellationPolicyForm(Form):
    """Settings → Cancellation Policy (design §12)."""

    window_hours = IntegerField(
        "Notice window (hours)",
        validators=[InputRequired(message="Enter a number of hours.")],
        description="A family cancellation less than this many hours before the start is late.",
    )
    charge = SelectField(
        "A late family cancellation keeps",
        choices=[
            SelectChoice(NO_CHARGE, "No hours"),
            SelectChoice(SHARE, "A percentage of the session's hours"),
            SelectChoice(ALL, "All of the session's hours"),
        ],
    )
    percent = IntegerField(
        "Percentage kept",
        validators=[Optional()],
        description="Of the session's hours, rounded to the nearest whole minute (halves up).",
    )
    free_per_month = IntegerField(
        "Free late cancellations per student per month",
        validators=[Optional()],
        description="Each calendar month, this many late cancellations keep nothing. "
        "Leave empty for none.",
    )
    no_show = SelectField(
        "A no-show (attendance Absent)",
        choices=[
            SelectChoice("yes", "Uses the session's hours"),
            SelectChoice("no", "Gives the session's hours back"),
        ],
    )
    text = TextAreaField(
        "Your policy, in your words (optional)",
        validators=[Length(max=2000)],
        description="Families read it before they cancel.",
    )
    proposal_expiry_hours = IntegerField(
        "Proposals expire after (hours)",
        validators=[InputRequired(message="Enter a number of hours, 0 for never.")],
        description="A proposed session the family has not answered is declined after this "
        "long. 0 for never; one whose start passes is declined in any case.",
    )

    def keep_percent(self) -> int:
        """The share kept, from the choice and the percentage field."""
        if self.charge.data == ALL:
            return 100
        if self.charge.data == SHARE:
            if self.percent.data is None or not 1 <= self.percent.data <= 99:
                raise DomainError("Enter a percentage from 1 to 99.", field="percent")
            return self.percent.data
        return 0


CURRENCY_CHOICES = [SelectChoice(code, label) for code, (label, _places) in CURRENCIES.items()]


class PaymentSettingsForm(Form):
    """Settings → Online Payments: the business's currency and the online-payments switch
    (prefixed: it shares the Settings page with the business form)."""

    currency = SelectField(
        "Currency",
        choices=CURRENCY_CHOICES,
        default=DEFAULT_CURRENCY,
        description="Offering prices are entered and charged in this currency.",
    )
    online_payments = BooleanField(
        "Online payments",
        description="Families can Buy Hours on their dashboard and pay through Stripe.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("prefix", "payments")
        super().__init__(*args, **kwargs)


# --- packages and offerings ---------------------------------------------------------------

CUSTOM = "custom"
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

    The checks run only when `uses_terms()`; + Add Package skips them when an offering
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
        """Show an offering's terms in the fields (+ Add Package, editing an offering)."""
        self.name.data = offering.name
        self.service.data = str(offering.service)
        self.package_type.data = str(offering.package_type)
        self.period.data = str(offering.period or "")
        self.hours.data = hours.format_hours(offering.minutes)
        self.rollover.data = offering.rollover

    def terms(self, offering: Offering | None = None) -> Terms:
        """The terms to save: the offering's when one supplies them, else the fields'."""
        if offering is not None:
            return packages.package_terms(offering)
        return {
            "name": self.name.data or "",
            "service": self.service.data,
            "package_type": self.package_type.data,
            "period": self.period.data or None,
            "minutes": self.minutes or 0,
            "rollover": bool(self.rollover.data),
        }


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

    allows_extensions = BooleanField(
        "Families may add extra hours (One-Time only)",
        description="At Buy Hours, within the bounds below, at the hourly price.",
    )
    extension_min_hours = StringField(
        "Fewest extra hours", validators=[Length(max=20)], render_kw={"inputmode": "numeric"}
    )
    extension_max_hours = StringField(
        "Most extra hours", validators=[Length(max=20)], render_kw={"inputmode": "numeric"}
    )
    extension_price = StringField(
        "Price per extra hour", validators=[Length(max=20)], render_kw={"inputmode": "decimal"}
    )

    currency: str = DEFAULT_CURRENCY
    price_minor: int = 0
    extension_price_minor: int = 0
    extension_min: int = 0
    extension_max: int = 0

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

    def validate_extension_price(self, field: Field) -> None:
        try:
            self.extension_price_minor = money.parse_price(
                field.data, self.currency, field="extension_price"
            )
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def validate_extension_min_hours(self, field: Field) -> None:
        try:
            self.extension_min = promotions.whole_hours(field.data, field=field.name)
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def validate_extension_max_hours(self, field: Field) -> None:
        try:
            self.extension_max = promotions.whole_hours(field.data, field=field.name)
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def extension(self) -> promotions.Extension:
        """The extension terms for `packages.save_offering`."""
        return (
            bool(self.allows_extensions.data),
            self.extension_min,
            self.extension_max,
            self.extension_price_minor,
        )

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
        self.allows_extensions.data = offering.allows_extensions
        self.extension_min_hours.data = str(offering.extension_min_hours or "")
        self.extension_max_hours.data = str(offering.extension_max_hours or "")
        self.extension_price.data = (
            money.amount_text(offering.extension_price_minor, offering.currency)
            if offering.extension_price_minor
            else ""
        )


METHOD_CHOICES = [SelectChoice("", "Choose how it was paid")] + [
    SelectChoice(m.value, m.label) for m in MANUAL_METHODS
]


class PaymentFields(Form):
    """Record payment: money received for a package. The domain
    (`package_payments.record_payment`) checks the values; the fields only bound them."""

    amount = StringField("Amount received", validators=[Length(max=40)])
    method = SelectField("Method", choices=METHOD_CHOICES, default="", validate_choice=False)
    paid_on = DayField("Date received", validators=[Optional()])
    reference = StringField(
        "Reference",
        validators=[Length(max=MAX_REFERENCE)],
        description="Optional: a cheque number, a transfer reference, a note for the receipt.",
    )

    def payment(self) -> dict[str, Any]:
        """The values for `package_payments.record_payment`."""
        return {
            "amount": self.amount.data,
            "method": self.method.data,
            "paid_on": self.paid_on.data,
            "reference": self.reference.data,
        }

    def has_payment(self) -> bool:
        """Add Package's payment is optional: recorded when an amount is typed."""
        return bool((self.amount.data or "").strip())


class VoidPaymentForm(Form):
    """Void a payment: the note says why, and is kept."""

    note = TextAreaField(
        "Why is it voided?",
        validators=[Length(max=1000)],
        description="Required: it is kept with the payment and shown on its receipt.",
    )


class RefundForm(Form):
    """Refund an online purchase, all or part, through Stripe."""

    amount = StringField("Amount to refund", validators=[Length(max=40)])


class PackageForm(PackageTermsForm, PaymentFields):
    """+ Add Package: an offering of the catalogue, or a custom package, with its price
    and, optionally, a first payment."""

    price = StringField("Price", validators=[Length(max=40)])

    offering = SelectField("Offering", default=CUSTOM)
    start_date = DayField("Start Date", validators=[InputRequired(message="Choose a start date.")])
    expires_on = DayField(
        "Expiry date",
        validators=[Optional()],
        description="Optional: the package turns Inactive by itself after this day.",
    )

    def uses_terms(self) -> bool:
        return bool(self.offering.data == CUSTOM)

    def set_currency(self, currency: str) -> None:
        """Amounts are typed in the business's currency; the labels say which."""
        self.price.description = (
            f"In {currency.upper()}: what the family pays for this package. "
            "Leave it empty if you do not track money here; 0 makes it Free."
        )
        self.amount.description = f"In {currency.upper()}. Leave it empty to record no payment."

    def validate_expires_on(self, field: Field) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError("The expiry date must be on or after the start date.")


class PackageEditForm(Form):
    """Correct a package's name, start date and expiry date (its hours: Adjust hours)."""

    name = StringField(
        "Package Name",
        validators=[DataRequired(message="Enter the package's name."), Length(max=120)],
    )
    start_date = DayField("Start Date", validators=[InputRequired(message="Choose a start date.")])
    expires_on = DayField(
        "Expiry date",
        validators=[Optional()],
        description="Empty for none. A later date makes an expired package Active again.",
    )

    def validate_expires_on(self, field: Field) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError("The expiry date must be on or after the start date.")


class WaiveForm(Form):
    """Waive a late-cancellation charge (design §12): the note says why."""

    note = TextAreaField(
        "Why it is waived",
        validators=[Length(max=1000)],
        description="Required: it is kept in the package's history.",
    )


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


# --- the list filters (read from the query string: GET, no CSRF needed) -------------------


class ReassignForm(Form):
    """Give a session (or every session of someone leaving) to another staff member."""

    staff = IdSelectField(
        "Reassign to",
        validators=[DataRequired(message="Choose who takes it.")],
        invalid_choice_message="Choose one of the staff members listed.",
    )
    anyway = BooleanField(
        "Assign anyway",
        description="Even outside their working hours or in their time off.",
    )


class SessionFilterForm(Form):
    """The Sessions list's filters."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Any status")]
        + [SelectChoice(s.value, s.label) for s in SessionStatus],
        validate_choice=False,
        validators=[known_choice("Choose a status from the list.")],
    )
    staff = IdSelectField(
        "Tutor or counselor",
        default="",  # Anyone
        invalid_choice_message="Choose a tutor or counselor of this business.",
    )
    student = IdSelectField(
        "Student", default="", invalid_choice_message="Choose a student of this business."
    )
    category = IdSelectField(
        "Category", default="", invalid_choice_message="Choose a category of this business."
    )
    subject = IdSelectField(
        "Subject", default="", invalid_choice_message="Choose a subject of this business."
    )
    date_from = DayField("From", validators=[Optional()])
    date_to = DayField("To", validators=[Optional()])

    def validate_date_to(self, field: DayField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")

    def offer_kinds(self, categories: list[SessionCategory], subjects: list[Subject]) -> None:
        """Every category and subject, retired ones too (old sessions keep them)."""
        self.category.choices = [SelectChoice("", "Any category")] + [
            SelectChoice(str(c.id), c.name) for c in categories
        ]
        self.subject.choices = [SelectChoice("", "Any subject")] + [
            SelectChoice(str(s.id), f"{s.category.name} → {s.name}") for s in subjects
        ]

    @property
    def shows_kinds(self) -> tuple[bool, bool]:
        """(category, subject): a filter only once there is something to choose between."""
        return len(choices(self.category)) > 2, len(choices(self.subject)) > 1


class PaymentFilterForm(Form):
    """The Payments list's filters."""

    class Meta:
        csrf = False

    paid_from = DayField("Received from", validators=[Optional()])
    paid_to = DayField("Received to", validators=[Optional()])
    method = SelectField(
        "Method",
        choices=[SelectChoice("", "Any method")]
        + [SelectChoice(m.value, m.label) for m in PaymentMethod],
        validate_choice=False,
        validators=[known_choice("Choose a method from the list.")],
    )
    family = IdSelectField(
        "Family", default="", invalid_choice_message="Choose a family of this business."
    )
    student = IdSelectField(
        "Student", default="", invalid_choice_message="Choose a student of this business."
    )

    def validate_paid_to(self, field: DayField) -> None:
        if field.data and self.paid_from.data and field.data < self.paid_from.data:
            raise ValidationError("The end date is before the start date.")


DEFAULT_WEEKS = 12
EARLIEST = date(2000, 1, 1)
MAX_SPAN_DAYS = 3 * 366
MAX_AHEAD_DAYS = 366


class ReportFilterForm(Form):
    """Admin → Reports' filters."""

    class Meta:
        csrf = False

    date_from = DayField("From", validators=[Optional()])
    date_to = DayField("To", validators=[Optional()])
    bucket = SelectField(
        "Group by",
        choices=[SelectChoice(WEEK, "Week"), SelectChoice(MONTH, "Month")],
        validate_choice=False,
        validators=[known_choice("Group by week or by month.")],
    )
    service = SelectField(
        "Service",
        choices=[SelectChoice("", "Any service"), *SERVICE_CHOICES],
        validate_choice=False,
        validators=[known_choice("Choose Tutoring or Counseling.")],
    )
    staff = IdSelectField(
        "Tutor or counselor",
        default="",  # Anyone
        invalid_choice_message="Choose a tutor or counselor of this business.",
    )
    category = IdSelectField(
        "Category", default="", invalid_choice_message="Choose a category of this business."
    )
    subject = IdSelectField(
        "Subject", default="", invalid_choice_message="Choose a subject of this business."
    )

    today: date  # the business's date, set by the view

    @property
    def shows_kinds(self) -> tuple[bool, bool]:
        """(category, subject): a filter only once there is something to choose between."""
        return len(choices(self.category)) > 2, len(choices(self.subject)) > 1

    def validate_date_from(self, field: DayField) -> None:
        if field.data and field.data < EARLIEST:
            raise ValidationError("Choose a date from 1 Jan 2000 on.")

    def validate_date_to(self, field: DayField) -> None:
        if not field.data:
            return
        if field.data > self.today + timedelta(days=MAX_AHEAD_DAYS):
            raise ValidationError("Choose an end date at most a year from today.")
        start = self.date_from.data
        if start and field.data < start:
            raise ValidationError("The end date is before the start date.")
        if start and (field.data - start).days > MAX_SPAN_DAYS:
            raise ValidationError("A report covers at most 3 years; shorten the range.")

    def filters(self) -> ReportFilters:
        """The validated filters, with the defaults filled in (the last 12 weeks)."""
        date_to = self.date_to.data or max(self.today, self.date_from.data or self.today)
        date_from = self.date_from.data or date_to - timedelta(weeks=DEFAULT_WEEKS) + timedelta(1)
        bucket = self.bucket.data or (WEEK if (date_to - date_from).days <= 183 else MONTH)
        return ReportFilters(
            date_from=date_from,
            date_to=date_to,
            bucket=bucket,
            service=self.service.data or None,
            staff_id=int(self.staff.data) if self.staff.data else None,
            category_id=int(self.category.data) if self.category.data else None,
            subject_id=int(self.subject.data) if self.subject.data else None,
        )


# --- Settings → Import ------------------------------------------------------------------

IMPORT_KIND_CHOICES = [SelectChoice(k.value, k.label) for k in ImportKind]


class ImportUploadForm(Form):
    kind = SelectField("What the file holds", choices=IMPORT_KIND_CHOICES, validate_choice=True)
    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose the CSV file to import.")],
        description="UTF-8, comma or semicolon separated; at most 5 MB and 10,000 rows.",
        render_kw={"accept": ".csv,text/csv"},
    )


class ImportConfirmForm(Form):
    all_or_nothing = BooleanField(
        "All or nothing",
        description="Import nothing at all if any row cannot be imported.",
    )


PROMO_KIND_CHOICES = [SelectChoice(k.value, k.label) for k in PromoKind]


class PromoCodeForm(Form):
    """Offerings → Promo codes: a code of the business's own. The view sets `currency`
    and the offerings' choices; `promotions.save_code` checks the rest."""

    code = StringField(
        "Code",
        validators=[
            Length(
                max=promotions.MAX_CODE_LENGTH,
                message=f"A promo code has at most {promotions.MAX_CODE_LENGTH} characters.",
            )
        ],
        description="What families type at Buy Hours; letters, digits, - and _; "
        "upper or lower case is the same code.",
        render_kw={"autocomplete": "off"},
    )
    kind = SelectField(
        "Discount", choices=PROMO_KIND_CHOICES, default=PromoKind.PERCENT, validate_choice=False
    )
    value = StringField(
        "Percentage or amount off",
        validators=[Length(max=20)],
        render_kw={"inputmode": "decimal"},
    )
    offerings = CheckboxesField(
        "Offerings it is for",
        choices=[],
        description="None ticked: every offering sold online.",
    )
    valid_from = DayField("Valid from", validators=[Optional()])
    valid_to = DayField("Valid to", validators=[Optional()])
    max_uses = StringField(
        "Total uses",
        validators=[Length(max=20)],
        description="Empty: no limit.",
        render_kw={"inputmode": "numeric"},
    )
    max_uses_per_family = StringField(
        "Uses per family",
        validators=[Length(max=20)],
        description="Empty: no limit.",
        render_kw={"inputmode": "numeric"},
    )
    active = BooleanField("Active", default=True)

    currency: str = DEFAULT_CURRENCY

    def set_offerings(self, offerings: list[Offering]) -> None:
        self.offerings.choices = [SelectChoice(str(o.id), o.name) for o in offerings]

    def values(self, offerings: list[Offering]) -> dict[str, Any]:
        """The values for `promotions.save_code`; DomainError names a bad field."""
        chosen = set(self.offerings.data or [])
        kind = self.kind.data or ""
        return {
            "code": self.code.data or "",
            "kind": kind,
            "value": promotions.parse_value(kind, self.value.data, self.currency),
            "offerings": [o for o in offerings if str(o.id) in chosen],
            "valid_from": self.valid_from.data,
            "valid_to": self.valid_to.data,
            "max_uses": promotions.parse_limit(self.max_uses.data, field="max_uses"),
            "max_uses_per_family": promotions.parse_limit(
                self.max_uses_per_family.data, field="max_uses_per_family"
            ),
            "active": bool(self.active.data),
        }

    def fill_from(self, promo: PromoCode) -> None:
        self.code.data = promo.code
        self.kind.data = promo.kind
        self.value.data = (
            str(promo.value)
            if promo.kind == PromoKind.PERCENT
            else money.amount_text(promo.value, self.currency)
        )
        self.offerings.data = [str(o.id) for o in promo.offerings]
        self.valid_from.data = promo.valid_from
        self.valid_to.data = promo.valid_to
        self.max_uses.data = str(promo.max_uses or "")
        self.max_uses_per_family.data = str(promo.max_uses_per_family or "")
        self.active.data = promo.active
