from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from prepbase.forms import email_field, name_field, new_password_fields, timezone_field


class SignupForm(FlaskForm):
    business_name = name_field("Business name")
    slug = StringField(
        "URL name",
        validators=[DataRequired(), Length(max=40)],
        description=(
            "3–40 lowercase letters, digits or hyphens: your pages will live at /your-name/."
        ),
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    timezone = timezone_field()
    admin_name = name_field("Your name")
    email = email_field("Your e-mail")
    password, confirm = new_password_fields()
