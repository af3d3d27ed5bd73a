from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from prepbase.forms import Form, email_field, new_password_fields


class LoginForm(Form):
    email = EmailField(
        "E-mail",
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class ForgotPasswordForm(Form):
    email = email_field()


class SetPasswordForm(Form):
    password, confirm = new_password_fields("New password")


class ChangePasswordForm(Form):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = new_password_fields("New password")
