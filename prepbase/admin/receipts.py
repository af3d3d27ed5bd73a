"""Money received (design §13): Admin → Payments with its filters and CSV, one payment's
receipt, and what each family owes. Recording and voiding a payment happen on the
package page (packages.py)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import g, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import package_payments
from prepbase.admin.blueprint import bp
from prepbase.admin.forms import PaymentFilterForm
from prepbase.csv_export import csv_response
from prepbase.extensions import db
from prepbase.forms import SelectChoice
from prepbase.htmx import render
from prepbase.inputs import page_number
from prepbase.models import Family, PackagePayment, Student
from prepbase.money import amount_text
from prepbase.package_payments import PaymentFilters
from prepbase.paging import Page
from prepbase.tenant_url import get_or_404

FILTER_NAMES = ("paid_from", "paid_to", "method", "family", "student")


def _filter_form() -> PaymentFilterForm:
    form = PaymentFilterForm(formdata=request.args)
    families = db.session.scalars(select(Family).order_by(Family.name, Family.id))
    form.family.choices = [SelectChoice("", "Any family")] + [
        SelectChoice(str(f.id), f.name) for f in families
    ]
    students = db.session.scalars(
        select(Student).order_by(Student.last_name, Student.first_name, Student.id)
    )
    form.student.choices = [SelectChoice("", "Any student")] + [
        SelectChoice(str(s.id), s.full_name) for s in students
    ]
    return form


def _filters(form: PaymentFilterForm) -> PaymentFilters:
    return PaymentFilters(
        paid_from=form.paid_from.data,
        paid_to=form.paid_to.data,
        method=form.method.data or None,
        family_id=int(form.family.data) if form.family.data else None,
        student_id=int(form.student.data) if form.student.data else None,
    )


@bp.get("/payments")
def payment_list() -> Response:
    """Every payment of the business, newest first, with the balance owing per family."""
    form = _filter_form()
    if form.validate():
        payments = package_payments.filtered_payments(db.session, _filters(form), page_number())
        status = 200
    else:
        payments, status = Page.empty(), 422
    chosen = {name: request.args[name] for name in FILTER_NAMES if request.args.get(name)}
    balances = package_payments.family_balances(db.session, g.tenant)
    families: Sequence[Family] = (
        db.session.scalars(
            select(Family).where(Family.id.in_(balances)).order_by(Family.name)
        ).all()
        if balances
        else []
    )
    return render(
        "admin/payments/list.html",
        block="results",
        status=status,
        form=form,
        payments=payments,
        chosen=chosen,
        balances=[(f, balances[f.id]) for f in families],
    )


@bp.get("/payments.csv")
def payment_csv() -> Response:
    """The Payments list as sent (its filters), every row, as a CSV download."""
    form = _filter_form()
    if not form.validate():
        return payment_list()
    rows = package_payments.filtered_payments(db.session, _filters(form), 1, per_page=None)
    return csv_response(
        f"{g.tenant.slug}-payments.csv",
        [
            "Receipt",
            "Date",
            "Family",
            "Student",
            "Package",
            "Amount",
            "Currency",
            "Method",
            "Reference",
            "Recorded by",
            "Void",
            "Void note",
        ],
        (
            [
                p.receipt_number,
                p.paid_on.isoformat(),
                p.package.student.family.name,
                p.package.student.full_name,
                p.package.name,
                amount_text(p.amount_minor, p.currency),
                p.currency.upper(),
                p.method_label,
                p.reference or "",
                p.recorded_by.name if p.recorded_by else "Stripe",
                "VOID" if p.voided else "",
                p.void_note or "",
            ]
            for p in rows.items
        ),
    )


@bp.get("/payments/<id:payment_id>/receipt")
def payment_receipt(payment_id: int) -> Response:
    """The receipt as the family sees it."""
    payment = get_or_404(PackagePayment, payment_id)
    return render(
        "receipts/receipt.html",
        payment=payment,
        back_url=url_for(".package_detail", package_id=payment.package_id),
        back_label=payment.package.name,
    )
