"""Money beside the hours (design §13): prices, payments of every method, voids, receipts,
the Payments list and what families owe (prepbase/package_payments.py and its pages)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import package_payments, packages, people
from prepbase.errors import DomainError
from prepbase.models import Package, PackagePayment, Student, Tenant, User
from prepbase.money import format_money
from prepbase.package_payments import PaymentState, payment_state
from prepbase.tenancy import as_tenant
from tests.factories import business_today
from tests.test_races import in_tenant, load, run_threads

THREADS = 20


def text(response) -> str:
    return response.get_data(as_text=True)


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "paid", "state"),
    [
        (None, 0, PaymentState.NO_PRICE),
        (None, 5000, PaymentState.NO_PRICE),
        (0, 0, PaymentState.FREE),
        (24000, 0, PaymentState.UNPAID),
        (24000, 1, PaymentState.PART_PAID),
        (24000, 23999, PaymentState.PART_PAID),
        (24000, 24000, PaymentState.PAID),
        (24000, 30000, PaymentState.PAID),  # overpaid: Paid, the rest is the family's credit
    ],
)
def test_payment_state(price, paid, state):
    assert payment_state(price, paid) is state
    assert state.label in ("No price recorded", "Free", "Unpaid", "Part paid", "Paid")


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (24050, "usd", "en_US", "$240.50"),
        (24050, "gbp", "en_GB", "£240.50"),
        (24050, "eur", "fr_FR", "240,50\xa0€"),
        (24050, "eur", "de_DE", "240,50\xa0€"),
        (5000, "jpy", "ja_JP", "￥5,000"),
        (24050, "usd", "xx_XX", "$240.50"),  # not a locale of the list: the default
    ],
)
def test_money_is_written_the_business_locales_way(minor, currency, locale, shown):
    assert format_money(minor, currency, locale) == shown


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


def make_package(app, db_session, business, *, price: int | None = 24000, student=0) -> Package:
    with app.app_context(), as_tenant(business.tenant.id):
        package = packages.assign_package(
            db_session,
            business.admin,
            business.students[student],
            name="Growth Package",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=24 * 60,
            start_date=business_today(-30),
        )
        package.price_minor, package.currency = price, "usd" if price is not None else None
        db_session.commit()
    return package


def pay(app, db_session, business, package, amount="100", **kw) -> PackagePayment:
    with app.app_context(), as_tenant(business.tenant.id):
        payment = package_payments.record_payment(
            db_session,
            business.tenant,
            package,
            business.admin,
            amount=amount,
            method=kw.pop("method", "cash"),
            paid_on=kw.pop("paid_on", business_today()),
            **kw,
        )
        db_session.commit()
    return payment


def test_payments_move_a_package_from_unpaid_to_part_paid_to_paid_and_a_void_back(
    app, db_session, business
):
    package = make_package(app, db_session, business)

    def state() -> PaymentState:
        with as_tenant(business.tenant.id):
            payments = package_payments.payments_of(db_session, package)
            return package_payments.money_of(business.tenant, package, payments).state

    assert state() is PaymentState.UNPAID
    first = pay(app, db_session, business, package, "100")
    assert state() is PaymentState.PART_PAID
    second = pay(app, db_session, business, package, "140", method="cheque", reference="#221")
    assert state() is PaymentState.PAID
    assert (first.receipt_number, second.receipt_number) == (1, 2)
    with as_tenant(business.tenant.id):
        assert package_payments.void_payment(db_session, second, business.admin, "Bounced")
        assert not package_payments.void_payment(db_session, second, business.admin, "Again")
        db_session.commit()
    assert state() is PaymentState.PART_PAID
    assert (second.void_note, second.voided_by_id) == ("Bounced", business.admin.id)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"amount": "1e308"}, "amount", "Enter the price as a number"),
        ({"amount": "NaN"}, "amount", "Enter the price as a number"),
        ({"amount": "-20"}, "amount", "cannot be negative"),
        ({"amount": "0"}, "amount", "more than zero"),
        ({"amount": ""}, "amount", "more than zero"),
        ({"amount": "100000.01"}, "amount", "That is more than"),
        ({"amount": "10.001"}, "amount", "at most 2 decimals"),
        ({"method": "stripe"}, "method", "Choose how the payment was made."),
        ({"method": "gold"}, "method", "Choose how the payment was made."),
        ({"paid_on": None}, "paid_on", "Enter the day"),
        ({"paid_on": business_today(1)}, "paid_on", "cannot be dated in the future"),
        ({"paid_on": date(1999, 12, 31)}, "paid_on", "from the year 2000 on"),
        ({"reference": "x" * 121}, "reference", "120 characters"),
    ],
)
def test_record_payment_refuses_what_is_not_money_received(
    app, db_session, business, values, field, message
):
    package = make_package(app, db_session, business)
    kw = {"amount": "100", "method": "cash", "paid_on": business_today()} | values
    with app.app_context(), as_tenant(business.tenant.id), pytest.raises(DomainError) as err:
        package_payments.record_payment(db_session, business.tenant, package, business.admin, **kw)
    assert err.value.field == field
    assert message in err.value.message
    db_session.rollback()
    with as_tenant(business.tenant.id):
        assert db_session.scalar(select(func.count(PackagePayment.id))) == 0


def test_void_needs_a_note(app, db_session, business):
    payment = pay(app, db_session, business, make_package(app, db_session, business))
    with as_tenant(business.tenant.id), pytest.raises(DomainError, match="note is required"):
        package_payments.void_payment(db_session, payment, business.admin, "   ")


def test_family_balance_owes_or_has_credit_never_a_negative_owing(app, db_session, business):
    first = make_package(app, db_session, business, price=24000)
    second = make_package(app, db_session, business, price=10000, student=1)
    make_package(app, db_session, business, price=None)  # no price: counts neither way
    pay(app, db_session, business, first, "100")
    family = business.family.id

    def balance():
        with as_tenant(business.tenant.id):
            [row] = package_payments.family_balances(db_session, business.tenant)[family]
        return row.owing_minor, row.credit_minor

    assert balance() == (24000, 0)
    pay(app, db_session, business, second, "240")
    assert balance() == (0, 0)
    pay(app, db_session, business, first, "50")
    assert balance() == (0, 5000)


# --- ＋ Add Package with a price and a first payment --------------------------------------

ADD = {
    "offering": "custom",
    "name": "Cash Pack",
    "service": "tutoring",
    "package_type": "one_time",
    "period": "",
    "hours": "10",
    "price": "240.50",
    "method": "cash",
    "reference": "Envelope 7",
}


def add_package(client, business, **values):
    data = ADD | {"start_date": business_today().isoformat()}
    data.setdefault("paid_on", business_today().isoformat())
    return client.post(
        f"/acme/admin/students/{business.students[0].id}/packages/new", data=data | values
    )


def test_add_package_records_the_price_and_a_cash_payment_in_one_go(admin, business, db_session):
    response = add_package(admin, business, amount="100")
    assert response.status_code == 303, text(response)
    with as_tenant(business.tenant.id):
        package = db_session.scalar(select(Package).where(Package.name == "Cash Pack"))
        [payment] = db_session.scalars(select(PackagePayment)).all()
    assert (package.price_minor, package.currency) == (24050, "usd")
    assert (payment.amount_minor, payment.method, payment.reference) == (
        10000,
        "cash",
        "Envelope 7",
    )
    assert (payment.paid_on, payment.recorded_by_id, payment.receipt_number) == (
        business_today(),
        business.admin.id,
        1,
    )
    page = visible(text(admin.get(f"/acme/admin/packages/{package.id}")))
    for words in ("$240.50", "Part paid", "$140.50 to pay", "No. 1", "Cash", "Envelope 7"):
        assert words in page, words


def test_add_package_without_an_amount_records_no_payment(admin, business, db_session):
    assert add_package(admin, business, amount="", method="", price="").status_code == 303
    with as_tenant(business.tenant.id):
        package = db_session.scalar(select(Package).where(Package.name == "Cash Pack"))
        assert db_session.scalar(select(func.count(PackagePayment.id))) == 0
    assert package.price_minor is None
    page = visible(text(admin.get(f"/acme/admin/packages/{package.id}")))
    assert "No price recorded" in page and "No payments recorded." in page


def test_add_package_form_offers_the_business_today_for_the_payment(admin, business):
    page = text(admin.get(f"/acme/admin/students/{business.students[0].id}/packages/new"))
    paid_on = re.search(r'<input[^>]*id="paid_on"[^>]*>', page).group(0)
    assert f'value="{business_today().isoformat()}"' in paid_on
    for label in ("Price", "Amount received", "Method", "Date received", "Reference"):
        assert f">{label}</label>" in page, label


MEGABYTE = "x" * 1_000_000


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"amount": "1e308"}, "Enter the price as a number, for example 240.00."),
        ({"amount": "NaN"}, "Enter the price as a number, for example 240.00."),
        ({"amount": "-5"}, "A price cannot be negative."),
        ({"amount": "100", "method": ""}, "Choose how the payment was made."),
        ({"amount": "100", "paid_on": business_today(1).isoformat()}, "in the future"),
        ({"amount": "100", "reference": MEGABYTE}, "Field cannot be longer than 120 characters."),
        ({"price": "1e308"}, "Enter the price as a number, for example 240.00."),
        ({"price": "-1"}, "A price cannot be negative."),
    ],
)
def test_add_package_with_hostile_money_is_422_and_writes_nothing(
    admin, business, db_session, values, message
):
    response = add_package(admin, business, **values)
    assert response.status_code == 422
    assert message in visible(text(response))
    with as_tenant(business.tenant.id):
        assert db_session.scalar(select(func.count(Package.id))) == 0
        assert db_session.scalar(select(func.count(PackagePayment.id))) == 0
    db_session.refresh(business.tenant)
    assert business.tenant.last_receipt_number == 0


# --- the package page: Record payment, Void ---------------------------------------------


def test_record_payment_then_void_it_once_from_the_package_page(app, admin, business, db_session):
    package = make_package(app, db_session, business)
    url = f"/acme/admin/packages/{package.id}/payments"
    refused = admin.post(url, data={"pay-amount": "NaN", "pay-method": "cash"})
    assert refused.status_code == 422
    assert "Enter the price as a number" in text(refused)
    response = admin.post(
        url,
        data={
            "pay-amount": "240",
            "pay-method": "bank_transfer",
            "pay-paid_on": business_today(-2).isoformat(),
            "pay-reference": "TR-99",
        },
    )
    assert response.status_code == 303
    with as_tenant(business.tenant.id):
        payment = db_session.scalar(select(PackagePayment))
    assert (payment.amount_minor, payment.method, payment.paid_on) == (
        24000,
        "bank_transfer",
        business_today(-2),
    )
    page = visible(text(admin.get(f"/acme/admin/packages/{package.id}")))
    assert "Paid" in page and "Bank transfer" in page

    void = f"/acme/admin/payments/{payment.id}/void"
    no_note = admin.post(void, data={f"void-{payment.id}-note": " "})
    assert no_note.status_code == 422 and "the note is required" in text(no_note)
    fragment = admin.post(
        void, data={f"void-{payment.id}-note": ""}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 422
    assert text(fragment).lstrip().startswith(f'<form id="void-form-{payment.id}"')
    assert "the note is required" in text(fragment)
    assert admin.post(void, data={f"void-{payment.id}-note": "Typed twice"}).status_code == 303
    again = admin.post(
        void, data={f"void-{payment.id}-note": "Second click"}, follow_redirects=True
    )
    assert "was voided already" in text(again)
    db_session.refresh(payment)
    assert (payment.void_note, payment.voided_by_id) == ("Typed twice", business.admin.id)
    page = visible(text(admin.get(f"/acme/admin/packages/{package.id}")))
    assert "VOID" in page and "Unpaid" in page


# --- receipts ------------------------------------------------------------------------------


def test_the_family_sees_its_receipt_and_nobody_elses(app, client, auth, business, db_session):
    business.tenant.contact_phone = "+1 555 0100"
    db_session.commit()
    mine = pay(app, db_session, business, make_package(app, db_session, business), "240.5")
    ben = pay(app, db_session, business, make_package(app, db_session, business, student=1))
    with app.app_context(), as_tenant(business.tenant.id):  # another family, same business
        other_family = people.create_family(db_session, business.admin, name="Other family")
        other_student = people.save_student(
            db_session,
            business.admin,
            None,
            family=other_family,
            first_name="Olga",
            last_name="Other",
            grade="9",
            school="",
            notes="",
        )
        db_session.commit()
    other_package = make_package(app, db_session, business)
    with as_tenant(business.tenant.id):
        other_package.student_id = other_student.id
        db_session.commit()
    theirs = pay(app, db_session, business, other_package)

    auth.as_role(business, "parent")
    listing = visible(text(client.get("/acme/family/receipts")))
    assert "Receipt 1" in listing and "Receipt 2" in listing and "Receipt 3" not in listing
    page = visible(text(client.get(f"/acme/family/receipts/{mine.id}")))
    for words in (
        "Receipt No. 1",
        "Acme Tutoring",
        "owner@acme.example.com",
        "+1 555 0100",
        "Ada Acme",
        "Growth Package",
        "24",
        "$240.50",
        "USD",
        "Cash",
    ):
        assert words in page, words
    assert "VOID" not in page
    assert client.get(f"/acme/family/receipts/{theirs.id}").status_code == 404
    assert client.get("/acme/family/receipts/999999").status_code == 404
    auth.logout(business)

    auth.as_role(business, "student")  # Ada's own login: not her brother's receipts
    assert client.get(f"/acme/family/receipts/{mine.id}").status_code == 200
    assert client.get(f"/acme/family/receipts/{ben.id}").status_code == 404
    auth.logout(business)

    with as_tenant(business.tenant.id):
        package_payments.void_payment(db_session, mine, business.admin, "Counted twice")
        db_session.commit()
    auth.as_role(business, "admin")
    page = visible(text(client.get(f"/acme/admin/payments/{mine.id}/receipt")))
    assert "VOID" in page and "Counted twice" in page and "$240.50" in page


def test_receipts_print_without_navigation():
    css = (Path(__file__).parent.parent / "static/css/app.css").read_text(encoding="utf-8")
    rules = css[css.index("@media print") :]
    for selector in ("body > header", ".no-print", "nav", "button"):
        assert selector in rules


# --- Admin → Payments, CSV, balances -----------------------------------------------------


def test_payments_list_filters_pages_and_downloads(app, admin, business, db_session):
    first = make_package(app, db_session, business)
    second = make_package(app, db_session, business, student=1)
    pay(app, db_session, business, first, "100", paid_on=business_today(-10))
    pay(app, db_session, business, second, "50", method="cheque", reference="=HYPERLINK(1)")
    page = visible(text(admin.get("/acme/admin/payments")))
    assert "No. 1" in page and "No. 2" in page
    assert "Acme family" in page and "$330.00" in page  # 240 + 240 - 150 owing

    cheque = visible(text(admin.get("/acme/admin/payments?method=cheque")))
    assert "No. 2" in cheque and "No. 1" not in cheque
    recent = f"/acme/admin/payments?paid_from={business_today(-1).isoformat()}"
    assert "No. 1" not in visible(text(admin.get(recent)))
    ben = visible(text(admin.get(f"/acme/admin/payments?student={business.students[1].id}")))
    assert "No. 2" in ben and "No. 1" not in ben
    fam = visible(text(admin.get(f"/acme/admin/payments?family={business.family.id}")))
    assert "No. 1" in fam and "No. 2" in fam

    bad = admin.get("/acme/admin/payments?method=gold&paid_from=2026-13-01")
    assert bad.status_code == 422
    assert "Choose a method from the list." in text(bad)

    response = admin.get("/acme/admin/payments.csv?method=cheque")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0][:6] == ["Receipt", "Date", "Family", "Student", "Package", "Amount"]
    assert [r[0] for r in rows[1:]] == ["2"]
    assert rows[1][5:8] == ["50.00", "USD", "Cheque"]
    assert rows[1][8] == "'=HYPERLINK(1)"  # a formula is never a formula in a spreadsheet

    family_page = visible(text(admin.get(f"/acme/admin/families/{business.family.id}")))
    assert "$330.00 owing" in family_page


def test_payments_list_pages_fifty_at_a_time(app, admin, business, db_session):
    package = make_package(app, db_session, business, price=None)
    with app.app_context(), as_tenant(business.tenant.id):
        for _ in range(51):
            package_payments.record_payment(
                db_session,
                business.tenant,
                package,
                business.admin,
                amount="1",
                method="other",
                paid_on=business_today(),
            )
        db_session.commit()
    first = visible(text(admin.get("/acme/admin/payments")))
    assert "No. 51" in first and "No. 1 " not in first and "page 1 of 2" in first
    second = visible(text(admin.get("/acme/admin/payments?page=2")))
    assert "No. 1 " in second


# --- Settings: the locale ------------------------------------------------------------------


def test_settings_locale_changes_how_money_is_written(app, admin, business, db_session):
    make_package(app, db_session, business)
    settings = {
        "name": "Acme Tutoring",
        "timezone": business.tenant.timezone,
        "low_balance_hours": "2",
        "contact_email": "owner@acme.example.com",
    }
    refused = admin.post("/acme/admin/settings", data=settings | {"locale": "xx_YY"})
    assert refused.status_code == 422
    assert "Choose one of the ways of writing money listed." in text(refused)
    assert (
        admin.post("/acme/admin/settings", data=settings | {"locale": "de_DE"}).status_code == 303
    )
    db_session.refresh(business.tenant)
    assert business.tenant.locale == "de_DE"
    page = text(admin.get("/acme/admin/payments"))
    assert "240,00\xa0$" in page


# --- concurrency (committed data) ---------------------------------------------------------


def committed_package(app, engine, business) -> int:
    with app.app_context(), as_tenant(business.tenant.id), Session(engine) as session:
        package = packages.assign_package(
            session,
            load(session, User, business.admin.id),
            load(session, Student, business.students[0].id),
            name="Raced",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=600,
            start_date=date(2020, 1, 1),
        )
        session.commit()
        return package.id


def test_receipt_numbers_stay_unique_under_concurrent_payments(app, engine, committed):
    package_id = committed_package(app, engine, committed)

    def record(i: int) -> str:
        def work(session: Session) -> str:
            paid = package_payments.record_payment(
                session,
                load(session, Tenant, committed.tenant.id),
                load(session, Package, package_id),
                load(session, User, committed.admin.id),
                amount=str(i + 1),
                method="cash",
                paid_on=business_today(),
            )
            return f"receipt {paid.receipt_number}"

        return in_tenant(engine, committed, work)

    results = run_threads(THREADS, record)
    assert sorted(results) == sorted(f"receipt {n}" for n in range(1, THREADS + 1)), results
    with Session(engine) as session:
        assert (
            session.scalar(
                select(Tenant.last_receipt_number).where(Tenant.id == committed.tenant.id)
            )
            == THREADS
        )


def test_a_payment_voided_by_many_clicks_at_once_is_voided_once(app, engine, committed):
    package_id = committed_package(app, engine, committed)
    with app.app_context(), as_tenant(committed.tenant.id), Session(engine) as session:
        payment = package_payments.record_payment(
            session,
            load(session, Tenant, committed.tenant.id),
            load(session, Package, package_id),
            load(session, User, committed.admin.id),
            amount="100",
            method="cash",
            paid_on=business_today(),
        )
        session.commit()
        payment_id = payment.id

    def void(i: int) -> str:
        def work(session: Session) -> str:
            done = package_payments.void_payment(
                session,
                load(session, PackagePayment, payment_id),
                load(session, User, committed.admin.id),
                f"click {i}",
            )
            return "voided" if done else "already"

        return in_tenant(engine, committed, work)

    results = run_threads(THREADS, void)
    assert results.count("voided") == 1, results
    assert results.count("already") == THREADS - 1, results
    with as_tenant(committed.tenant.id), Session(engine) as session:
        note = session.scalar(
            select(PackagePayment.void_note).where(PackagePayment.id == payment_id)
        )
        assert re.fullmatch(r"click \d+", note)
