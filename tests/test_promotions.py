"""Promo codes and hour extensions at Buy Hours (issue 17): the rules, the arithmetic,
the pages, tenancy, hostile input, and the limits under concurrent purchases."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import payments, people, promotions
from prepbase.errors import DomainError
from prepbase.localtime import business_today
from prepbase.models import (
    EntryKind,
    LedgerEntry,
    Offering,
    PackagePayment,
    PromoCode,
    PromoKind,
    Purchase,
    PurchaseStatus,
    Role,
    Student,
    User,
)
from prepbase.tenancy import as_tenant
from tests.factories import add_purchase, sell_online
from tests.fake_stripe import event, post_event


@pytest.fixture
def selling(app, business, db_session, fake_stripe):
    with app.app_context():
        account = fake_stripe.add_account(charges_enabled=True)
        sell_online(db_session, business, account)
        with as_tenant(business.tenant.id):
            offering = db_session.get(Offering, business.extra["one_time"])
            offering.allows_extensions = True
            offering.extension_min_hours = 1
            offering.extension_max_hours = 5
            offering.extension_price_minor = 3000
            db_session.commit()
    return business


def make_code(db_session, business, code="SPRING", **kw) -> PromoCode:
    values = {"kind": PromoKind.PERCENT, "value": 10, **kw}
    with as_tenant(business.tenant.id):
        promo = promotions.save_code(db_session, None, code=code, **values)
        db_session.commit()
        return promo


def offering_of(db_session, business, key="one_time") -> Offering:
    with as_tenant(business.tenant.id):
        return db_session.get(Offering, business.extra[key])


def price(db_session, business, code, extra="", key="one_time", day=None, student=0):
    with as_tenant(business.tenant.id):
        return promotions.price_purchase(
            db_session,
            business.tenant,
            business.students[student],
            offering_of(db_session, business, key),
            code=code,
            extra_hours=extra,
            day=day or business_today(business.tenant),
        )


def refusal(*args, **kw) -> str:
    with pytest.raises(DomainError) as caught:
        price(*args, **kw)
    return caught.value.message


# --- arithmetic ---------------------------------------------------------------------------


def test_percent_rounds_half_up_to_the_minor_unit_and_fixed_never_goes_below_zero():
    percent = PromoCode(kind=PromoKind.PERCENT, value=15)
    assert promotions.discount(percent, 24050) == 3608  # 3607.5 → 3608
    assert promotions.discount(percent, 24030) == 3605  # 3604.5 → 3605
    assert promotions.discount(percent, 1) == 0  # 0.15 → 0
    assert promotions.discount(PromoCode(kind=PromoKind.PERCENT, value=100), 999) == 999
    assert promotions.discount(PromoCode(kind=PromoKind.FIXED, value=5000), 24000) == 5000
    assert promotions.discount(PromoCode(kind=PromoKind.FIXED, value=50000), 24000) == 24000
    assert promotions.discount(None, 24000) == 0


def test_price_with_extra_hours_and_a_code(selling, db_session):
    make_code(db_session, selling, "spring", value=10)
    result = price(db_session, selling, " Spring ", "2")
    assert result.extra_minutes == 120
    assert result.extension_minor == 6000
    assert result.subtotal_minor == 30000
    assert result.discount_minor == 3000
    assert result.total_minor == 27000
    assert result.promo.code == "spring"


def test_a_code_covering_the_whole_price_is_refused(selling, db_session):
    make_code(db_session, selling, "FREE", value=100)
    make_code(db_session, selling, "BIG", kind=PromoKind.FIXED, value=10**6)
    assert "covers the whole price" in refusal(db_session, selling, "FREE")
    assert "covers the whole price" in refusal(db_session, selling, "BIG")


# --- refusals -----------------------------------------------------------------------------


def test_each_refusal_says_why(selling, db_session):
    today = business_today(selling.tenant)
    make_code(db_session, selling, "OLD", valid_to=today - timedelta(days=1))
    make_code(db_session, selling, "SOON", valid_from=today + timedelta(days=1))
    make_code(db_session, selling, "OFF", active=False)
    monthly = offering_of(db_session, selling, "monthly")
    make_code(db_session, selling, "ONLYMONTHLY", offerings=[monthly])
    assert "is not a promo code here" in refusal(db_session, selling, "NOPE")
    assert "is not a promo code here" in refusal(db_session, selling, "OFF")
    assert "expired on" in refusal(db_session, selling, "OLD")
    assert "can be used from" in refusal(db_session, selling, "SOON")
    assert "cannot be used on Ten Hour Pack" in refusal(db_session, selling, "ONLYMONTHLY")
    assert "recurring" in refusal(db_session, selling, "ONLYMONTHLY", key="monthly")
    # The first and last valid days are in.
    make_code(db_session, selling, "TODAY", valid_from=today, valid_to=today)
    assert price(db_session, selling, "today").promo.code == "TODAY"


def test_used_up_and_already_used_by_the_family(selling, db_session):
    make_code(db_session, selling, "ONCE", max_uses=1)
    make_code(db_session, selling, "FAMILY", max_uses_per_family=1)
    with as_tenant(selling.tenant.id):
        once = db_session.scalar(select(PromoCode).where(PromoCode.code_key == "ONCE"))
        family = db_session.scalar(select(PromoCode).where(PromoCode.code_key == "FAMILY"))
    offering = offering_of(db_session, selling)
    add_purchase(db_session, selling, offering, promo_code_id=once.id)
    add_purchase(
        db_session, selling, offering, promo_code_id=family.id, checkout_session_id="cs_fam"
    )
    assert refusal(db_session, selling, "ONCE") == "ONCE has been used up."
    assert refusal(db_session, selling, "family", student=1) == (
        "Your family has already used FAMILY."
    )
    # A cancelled or failed purchase gives its use back.
    with as_tenant(selling.tenant.id):
        for row in db_session.scalars(select(Purchase)):
            row.status = PurchaseStatus.CANCELLED
        db_session.flush()
    assert price(db_session, selling, "ONCE").promo.code == "ONCE"
    assert price(db_session, selling, "FAMILY").promo.code == "FAMILY"


def test_extra_hours_bounds(selling, db_session):
    assert "between 1 and 5" in refusal(db_session, selling, "", "6")
    assert "whole number" in refusal(db_session, selling, "", "1.5")
    assert "cannot be extended" in refusal(db_session, selling, "", "2", key="monthly")
    assert price(db_session, selling, "", "5").extra_minutes == 300


def test_another_business_code_is_unknown(selling, other_business, db_session):
    make_code(db_session, other_business, "THEIRS")
    make_code(db_session, selling, "theirs", value=20)  # the same code is free per business
    assert price(db_session, selling, "THEIRS").discount_minor == 4800
    with pytest.raises(DomainError):
        make_code(db_session, selling, "Theirs")  # unique case-insensitively


# --- pages --------------------------------------------------------------------------------


def options_url(business, action="options", key="one_time"):
    return business.url(f"/family/buy/{business.students[0].id}/{business.extra[key]}/{action}")


def test_show_total_then_pay_records_the_code_and_grants_the_extra_hours_once(
    client, auth, selling, db_session, fake_stripe
):
    make_code(db_session, selling, "SPRING", value=10)
    auth.as_role(selling, "parent")
    assert "Promo code or extra hours" in client.get(selling.url("/family/buy")).text
    page = client.get(options_url(selling))
    assert page.status_code == 200 and "Extra hours" in page.text
    shown = client.post(options_url(selling), data={"promo_code": "spring", "extra_hours": "2"})
    assert shown.status_code == 200
    assert "$270.00" in shown.text and "SPRING" in shown.text
    assert (
        db_session.execute(sa.text("SELECT count(*) FROM purchase")).scalar() == 0
    )  # a look, nothing saved

    paid = client.post(
        options_url(selling, "pay"), data={"promo_code": "spring", "extra_hours": "2"}
    )
    assert paid.status_code == 303
    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.params["line_items"][0]["price_data"]["unit_amount"] == "27000"
    with as_tenant(selling.tenant.id):
        [purchase] = db_session.scalars(select(Purchase)).all()
    assert (purchase.amount_minor, purchase.discount_minor) == (27000, 3000)
    assert (purchase.minutes, purchase.extra_minutes) == (720, 120)
    assert purchase.promo_code.code == "SPRING"

    session = fake_stripe.pay(purchase.checkout_session_id)
    account = selling.tenant.stripe_account_id
    for _ in range(2):  # replayed: still one package, one grant
        post_event(client, event("checkout.session.completed", session, account))
    db_session.refresh(purchase)
    with as_tenant(selling.tenant.id):
        grants = db_session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.package_id == purchase.package_id,
                LedgerEntry.kind == EntryKind.GRANT,
            )
        ).all()
        [payment] = db_session.scalars(
            select(PackagePayment).where(PackagePayment.package_id == purchase.package_id)
        ).all()
    assert [g.minutes for g in grants] == [720]
    assert purchase.package.total_minutes == 720
    assert payment.amount_minor == 27000
    receipt = client.get(selling.url(f"/family/receipts/{payment.id}"))
    assert receipt.status_code == 200, receipt.text
    assert "SPRING" in receipt.text and "−$30.00" in receipt.text and "$270.00" in receipt.text


@pytest.mark.parametrize(
    "data",
    [
        {"promo_code": "NOPE"},
        {"extra_hours": "1e308"},
        {"extra_hours": "NaN"},
        {"extra_hours": "Infinity"},
        {"extra_hours": "9" * 19},
        {"extra_hours": "-2"},
        {"promo_code": "X" * 5000},
        {"promo_code": "SPR\u0007ING"},
        {"promo_code": "SPRING\tX"},
        {"promo_code": "SPR ING"},
        {"extra_hours": "1" * 5000},
    ],
)
@pytest.mark.parametrize("action", ["options", "pay"])
def test_hostile_input_is_a_422_and_writes_nothing(
    client, auth, selling, db_session, fake_stripe, data, action
):
    make_code(db_session, selling, "SPRING")
    auth.as_role(selling, "parent")
    response = client.post(options_url(selling, action), data=data)
    assert response.status_code == 422
    assert db_session.execute(sa.text("SELECT count(*) FROM purchase")).scalar() == 0
    assert fake_stripe.requests_to("POST", "/v1/checkout/sessions") == []


def test_another_family_or_business_gets_404(client, auth, selling, other_business, db_session):
    auth.as_role(other_business, "parent")
    assert (
        client.get(
            other_business.url(
                f"/family/buy/{selling.students[0].id}/{selling.extra['one_time']}/options"
            )
        ).status_code
        == 404
    )


# --- limits under concurrent purchases ------------------------------------------------------


def run_threads(count, work):
    barrier = threading.Barrier(count)
    results = [""] * count

    def runner(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = f"error: {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


BUYERS = 8


def test_limits_hold_under_concurrent_purchases(app, engine, committed, fake_stripe):
    """Eight families race for a code with 3 uses; two parents of one family race for a
    code with one use per family: exactly the allowed purchases are made."""
    business = committed
    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        sell_online(session, business, fake_stripe.add_account(charges_enabled=True))
        with as_tenant(business.tenant.id):
            buyers = []
            for i in range(BUYERS):
                family = people_family(session, business, i)
                buyers.append(family)
            make_code(session, business, "THREE", max_uses=3)
            make_code(session, business, "PERFAM", max_uses_per_family=1)
            second = User(
                name="Second Parent",
                email=f"second@{business.tenant.slug}.example.com",
                role=Role.PARENT,
                family=business.family,
                password_hash="x",
            )
            session.add(second)
            session.commit()
            offering_id = business.extra["one_time"]

    def attempt(user_id: int, student_id: int, code: str) -> str:
        with app.app_context(), as_tenant(business.tenant.id), Session(engine) as session:
            try:
                purchase = payments.start_purchase(
                    session,
                    session.get(type(business.tenant), business.tenant.id),
                    session.get(User, user_id),
                    session.get(Student, student_id),
                    session.get(Offering, offering_id),
                    code=code,
                )
                session.commit()
                return f"bought {purchase.id}"
            except DomainError as exc:
                session.rollback()
                return f"refused: {exc.message}"

    results = run_threads(BUYERS, lambda i: attempt(*buyers[i], "THREE"))
    assert sorted(r.split(" ")[0] for r in results) == ["bought"] * 3 + ["refused:"] * 5, results
    assert all("used up" in r for r in results if r.startswith("refused")), results

    parents = [(business.parent.id, business.students[0].id), (second.id, business.students[1].id)]
    results = run_threads(2, lambda i: attempt(*parents[i], "PERFAM"))
    assert sorted(r.split(" ")[0] for r in results) == ["bought", "refused:"], results
    assert any("already used" in r for r in results), results
    with engine.connect() as conn:
        counted = conn.execute(
            sa.text(
                "SELECT count(*) FROM purchase WHERE tenant_id = :t AND promo_code_id IS NOT NULL"
            ),
            {"t": business.tenant.id},
        ).scalar()
    assert counted == 4


def people_family(session, business, i) -> tuple[int, int]:
    """A family of its own with one student and one parent: (parent id, student id)."""

    family = people.create_family(session, business.admin, name=f"Racer {i}")
    student = people.save_student(
        session,
        business.admin,
        None,
        family=family,
        first_name=f"Kid{i}",
        last_name="Racer",
        grade="9",
        school="",
        notes="",
    )
    parent = User(
        name=f"Racer Parent {i}",
        email=f"racer{i}@{business.tenant.slug}.example.com",
        role=Role.PARENT,
        family=family,
        password_hash="x",
    )
    session.add(parent)
    session.flush()
    return parent.id, student.id


def test_save_code_refuses_bad_values(selling, db_session):
    for values, field in [
        ({"code": "", "kind": "percent", "value": 10}, "code"),
        ({"code": "A B", "kind": "percent", "value": 10}, "code"),
        ({"code": "A", "kind": "bogus", "value": 10}, "kind"),
        ({"code": "A", "kind": "percent", "value": 101}, "value"),
        ({"code": "A", "kind": "fixed", "value": 0}, "value"),
        ({"code": "A", "kind": "fixed", "value": 5, "max_uses": 0}, "max_uses"),
        (
            {
                "code": "A",
                "kind": "fixed",
                "value": 5,
                "valid_from": date(2030, 1, 2),
                "valid_to": date(2030, 1, 1),
            },
            "valid_to",
        ),
    ]:
        with as_tenant(selling.tenant.id), pytest.raises(DomainError) as caught:
            promotions.save_code(db_session, None, **values)
        assert caught.value.field == field, values


# --- Offerings form: the extension fields ----------------------------------------------------

OFFERING = {"name": "Growth", "service": "tutoring", "package_type": "one_time", "hours": "24"}
EXTENSION = {
    "allows_extensions": "y",
    "extension_min_hours": "1",
    "extension_max_hours": "4",
    "extension_price": "30.00",
}


def test_offerings_form_saves_and_shows_the_extension_terms(client, auth, business, db_session):
    auth.as_role(business, "admin")
    response = client.post(business.url("/admin/offerings/new"), data={**OFFERING, **EXTENSION})
    assert response.status_code == 303
    with as_tenant(business.tenant.id):
        offering = db_session.scalar(select(Offering))
    assert (
        offering.allows_extensions,
        offering.extension_min_hours,
        offering.extension_max_hours,
        offering.extension_price_minor,
    ) == (True, 1, 4, 3000)
    page = client.get(business.url(f"/admin/offerings/{offering.id}/edit")).text
    assert 'value="30.00"' in page and 'value="4"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"extension_max_hours": "0"}, "most extra hours is between 1 and"),
        ({"extension_min_hours": "5"}, "fewest extra hours is between 0 and the most"),
        ({"extension_max_hours": "1e308"}, "Enter whole hours"),
        ({"extension_max_hours": "NaN"}, "Enter whole hours"),
        ({"extension_max_hours": "2.5"}, "Enter whole hours"),
        ({"extension_max_hours": "100000"}, "At most 200 hours"),
        ({"extension_price": ""}, "Set the price of an extra hour"),
        ({"extension_price": "1e308"}, "Enter the price as a number"),
        ({"package_type": "recurring", "period": "monthly"}, "Only One-Time packages"),
    ],
)
def test_offerings_form_refuses_bad_extension_terms(
    client, auth, business, db_session, changes, message
):
    auth.as_role(business, "admin")
    response = client.post(
        business.url("/admin/offerings/new"), data={**OFFERING, **EXTENSION, **changes}
    )
    assert response.status_code == 422
    assert message in response.text
    assert db_session.execute(sa.text("SELECT count(*) FROM offering")).scalar() == 0


# --- Offerings → Promo codes (admin) --------------------------------------------------------

PROMO = {"code": "Spring-26", "kind": "percent", "value": "15", "active": "y"}


def test_admin_creates_edits_and_deactivates_a_code_and_sees_its_uses(
    client, auth, selling, db_session
):
    auth.as_role(selling, "admin")
    assert "Promo codes" in client.get(selling.url("/admin/offerings")).text
    assert "No promo codes yet" in client.get(selling.url("/admin/promo-codes")).text
    one_time = str(selling.extra["one_time"])
    response = client.post(
        selling.url("/admin/promo-codes/new"),
        data={**PROMO, "offerings": [one_time], "max_uses": "10", "max_uses_per_family": "1"},
    )
    assert response.status_code == 303, response.text
    with as_tenant(selling.tenant.id):
        promo = db_session.scalar(select(PromoCode))
    assert (promo.code_key, promo.kind, promo.value, promo.all_offerings) == (
        "SPRING-26",
        "percent",
        15,
        False,
    )
    assert [o.id for o in promo.offerings] == [selling.extra["one_time"]]
    add_purchase(db_session, selling, offering_of(db_session, selling), promo_code_id=promo.id)
    listing = client.get(selling.url("/admin/promo-codes")).text
    assert "Spring-26" in listing and "1 of 10" in listing and "Active" in listing

    edit_url = selling.url(f"/admin/promo-codes/{promo.id}/edit")
    assert 'value="Spring-26"' in client.get(edit_url).text
    response = client.post(edit_url, data={**PROMO, "kind": "fixed", "value": "25.50"})
    assert response.status_code == 303
    db_session.refresh(promo)
    assert (promo.kind, promo.value, promo.all_offerings) == ("fixed", 2550, True)

    response = client.post(selling.url(f"/admin/promo-codes/{promo.id}/deactivate"))
    assert response.status_code == 303
    db_session.refresh(promo)
    assert promo.active is False
    assert "not a promo code here" in refusal(db_session, selling, "spring-26")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"value": "1e308"}, "whole percentage"),
        ({"value": "NaN"}, "whole percentage"),
        ({"value": "101"}, "whole percentage"),
        ({"kind": "fixed", "value": "1e308"}, "Enter the price as a number"),
        ({"kind": "fixed", "value": "Infinity"}, "Enter the price as a number"),
        ({"kind": "bogus"}, "percentage or fixed"),
        ({"code": "X" * 5000}, "40 characters"),
        ({"code": "BAD CODE"}, "letters, digits"),
        ({"code": "BAD\u0001"}, ""),
        ({"code": ""}, "Give the promo code"),
        ({"max_uses": "0"}, "whole number from 1"),
        ({"max_uses": "1e308"}, "whole number from 1"),
        ({"max_uses_per_family": "NaN"}, "whole number from 1"),
        ({"valid_from": "2031-02-01", "valid_to": "2031-01-01"}, "before valid from"),
        ({"valid_from": "99999-01-01"}, ""),
        ({"offerings": ["999999999999"]}, ""),
    ],
)
def test_admin_promo_form_refuses_hostile_input_with_422(
    client, auth, selling, db_session, changes, message
):
    auth.as_role(selling, "admin")
    response = client.post(selling.url("/admin/promo-codes/new"), data={**PROMO, **changes})
    assert response.status_code == 422
    assert message in response.text
    assert db_session.execute(sa.text("SELECT count(*) FROM promo_code")).scalar() == 0


def test_admin_of_another_business_gets_404(client, auth, selling, other_business, db_session):
    promo = make_code(db_session, selling, "MINE")
    auth.as_role(other_business, "admin")
    for path in (f"/admin/promo-codes/{promo.id}/edit",):
        assert client.get(other_business.url(path)).status_code == 404
    assert (
        client.post(other_business.url(f"/admin/promo-codes/{promo.id}/deactivate")).status_code
        == 404
    )
    assert "MINE" not in client.get(other_business.url("/admin/promo-codes")).text
    db_session.refresh(promo)
    assert promo.active is True
