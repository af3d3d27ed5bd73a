"""Settings → Online Payments."""

from __future__ import annotations

from wtforms import BooleanField, SelectChoice, SelectField

from prepbase.forms import Form
from prepbase.money import CURRENCIES, DEFAULT_CURRENCY

CURRENCY_CHOICES = [SelectChoice(code, label) for code, (label, _places) in CURRENCIES.items()]


class PaymentSettingsForm(Form):
    """The business's currency and the online-payments switch (prefixed: it shares the
    Settings page with the business form)."""

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
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
