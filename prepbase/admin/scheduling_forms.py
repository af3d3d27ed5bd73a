"""Settings → Scheduling: the rules for family bookings and reminders."""

from __future__ import annotations

from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from prepbase.business import REMINDER_CHOICES, STEP_CHOICES
from prepbase.forms import Form


class SchedulingSettingsForm(Form):
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
