"""Receipts (design §13): a family's payments and each payment's receipt. A family sees
only its own students' (a student login: their own); anything else answers 404."""

from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import package_payments
from prepbase.extensions import db
from prepbase.family.blueprint import bp
from prepbase.family_scope import guards, visible_students
from prepbase.htmx import render
from prepbase.models import PackagePayment
from prepbase.tenant_url import get_or_404


@bp.get("/receipts")
def receipt_list() -> Response:
    """Every payment for the family's students' packages, newest first."""
    students = visible_students(db.session, current_user)
    return render(
        "family/receipts.html",
        payments=package_payments.family_payments(db.session, [s.id for s in students]),
        show_student=len(students) > 1,
    )


@bp.get("/receipts/<id:payment_id>")
def receipt(payment_id: int) -> Response:
    payment = get_or_404(PackagePayment, payment_id)
    if not guards(current_user, payment.package.student):
        abort(404)  # another family's receipt is as missing as one that never existed
    return render(
        "receipts/receipt.html",
        payment=payment,
        back_url=url_for(".receipt_list"),
        back_label="Receipts",
    )
