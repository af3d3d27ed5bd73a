from wtforms import StringField, ValidationError
from wtforms.validators import DataRequired, Length

from prepbase.business import validate_slug
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import Form, email_field, name_field, new_password_fields, timezone_field


class SignupForm(Form):
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

    def validate_slug(self, field: StringField) -> None:
        # Checked with the other fields, so every problem shows in one round.
        try:
            validate_slug(db.session, field.data or "")
        except DomainError as exc:
            raise ValidationError(exc.message) from None


class FindBusinessForm(Form):
    """Sign in, step one: which business (its URL name, or its sign-in address)."""

    business = StringField(
        "Your business's URL name",
        validators=[DataRequired(message="Enter the URL name of your business."), Length(max=300)],
        description="The name in your sign-in address: for /brightpath/login, it is brightpath.",
        render_kw={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"},
    )


class SignInLinksForm(Form):
    """Forgot the URL name: an e-mail address to send the sign-in links to."""

    email = email_field("Your e-mail")
