"""Prices: typed as a decimal amount in a currency, stored as whole minor units (cents).

Stripe takes amounts in the currency's smallest unit: 240.00 USD is 24000, 5000 JPY is
5000. The currencies offered are the ones Stripe settles for our businesses' countries.
"""

from __future__ import annotations

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

from prepbase.errors import DomainError
from prepbase.numbers import typed_decimal

# ISO code → (label, number of decimals in Stripe's minor unit)
CURRENCIES: dict[str, tuple[str, int]] = {
    "usd": ("US dollar (USD)", 2),
    "cad": ("Canadian dollar (CAD)", 2),
    "gbp": ("Pound sterling (GBP)", 2),
    "eur": ("Euro (EUR)", 2),
    "aud": ("Australian dollar (AUD)", 2),
    "nzd": ("New Zealand dollar (NZD)", 2),
    "sgd": ("Singapore dollar (SGD)", 2),
    "inr": ("Indian rupee (INR)", 2),
    "jpy": ("Japanese yen (JPY)", 0),
}
DEFAULT_CURRENCY = "usd"
MAX_PRICE = Decimal(100_000)  # per package; a typo guard, far above any real price


def decimals(currency: str) -> int:
    """How many decimals the currency's minor unit has (2 for USD, 0 for JPY)."""
    return CURRENCIES.get(currency.lower(), ("", 2))[1]


def parse_price(text: str | None, currency: str, *, field: str = "price") -> int:
    """ "240" or "240.50" in `currency` → minor units (24050); a clear refusal otherwise."""
    raw = (text or "").strip().replace(",", "")  # "1,200.50": commas group thousands
    if not raw:
        return 0
    amount = typed_decimal(raw, separators=".")
    if amount is None:
        raise DomainError("Enter the price as a number, for example 240.00.", field=field)
    if amount < 0:
        raise DomainError("A price cannot be negative.", field=field)
    if amount > MAX_PRICE:
        raise DomainError(f"That is more than {MAX_PRICE:,} {currency.upper()}.", field=field)
    places = decimals(currency)
    minor = amount.scaleb(places)
    if minor != minor.to_integral_value():
        unit = "whole amounts" if places == 0 else f"at most {places} decimals"
        raise DomainError(f"Use {unit} for {currency.upper()}.", field=field)
    return int(minor)


def amount_text(minor: int, currency: str) -> str:
    """Minor units as the decimal amount a person types: 24050 USD → "240.50"."""
    places = decimals(currency)
    return f"{Decimal(minor).scaleb(-places):,.{places}f}".replace(",", "")


# The ways a business may have its money written (Settings → locale): Babel locale id →
# its name in the Settings select. A short list on purpose: our businesses' countries.
LOCALES: dict[str, str] = {
    "en_US": "English (United States)",
    "en_CA": "English (Canada)",
    "fr_CA": "Français (Canada)",
    "en_GB": "English (United Kingdom)",
    "en_IE": "English (Ireland)",
    "en_AU": "English (Australia)",
    "en_NZ": "English (New Zealand)",
    "en_SG": "English (Singapore)",
    "en_IN": "English (India)",
    "fr_FR": "Français (France)",
    "de_DE": "Deutsch (Deutschland)",
    "es_ES": "Español (España)",
    "it_IT": "Italiano (Italia)",
    "nl_NL": "Nederlands (Nederland)",
    "ja_JP": "日本語 (日本)",
}
DEFAULT_LOCALE = "en_US"


def known_locale(locale: str | None) -> bool:
    """A locale of the list that Babel also knows (the Settings select's check)."""
    if locale not in LOCALES:
        return False
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def format_money(minor: int | None, currency: str | None, locale: str | None = None) -> str:
    """An amount as shown on screen, written the way the business's locale writes money:
    24050 USD in en_US → "$240.50", GBP in en_GB → "£240.50", EUR in fr_FR → "240,50 €"."""
    if minor is None or not currency:
        return ""
    places = decimals(currency)
    return format_currency(
        # quantized to the currency's minor unit, so JPY shows no decimals in any locale
        Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places)),
        currency.upper(),
        locale=locale if locale in LOCALES else DEFAULT_LOCALE,
    )
