from wtforms import (
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from prepbase.forms import Form, email_field, name_field, timezone_field
from prepbase.models import Role, Service

SERVICE_CHOICES = [SelectChoice(s.value, s.label) for s in Service]
STAFF_ROLE_CHOICES = [
    SelectChoice(r.value, r.label) for r in (Role.TUTOR, Role.COUNSELOR, Role.ADMIN)
]
NEW_FAMILY = "new"


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


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
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class FamilyForm(Form):
    name = name_field("Family name")


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
