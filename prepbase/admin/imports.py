"""Settings → Import: upload a spreadsheet, preview what each row will do, confirm; the
record of past imports with their refused rows; inviting the people an import added.
The rules live in `prepbase.importing`."""

from __future__ import annotations

import csv
import io

from flask import abort, flash, g, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import importing, people
from prepbase.admin.blueprint import bp
from prepbase.admin.common import invite_ttl
from prepbase.admin.forms import ImportConfirmForm, ImportUploadForm
from prepbase.csv_export import csv_response
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.inputs import takes_upload
from prepbase.mail.accounts import send_invitation
from prepbase.models import ImportKind, ImportRun, ImportStatus
from prepbase.tenant_url import get_or_404

# Good rows shown on the preview (every refused row is shown); the counts cover all.
PREVIEW_ROWS = 200
# The file's limit plus room for the form around it (boundaries, the CSRF token).
UPLOAD_BODY_BYTES = importing.MAX_BYTES + 64 * 1024
TOO_LARGE = (
    "That file is larger than 5 MB. Split it into smaller files and import them one after another."
)


def _page(form: ImportUploadForm, status: int = 200) -> Response:
    # htmx swaps the upload form alone (a refused file); the full page otherwise.
    return render(
        "admin/settings/import.html",
        block="upload_form",
        status=status,
        form=form,
        columns=importing.COLUMNS,
        kinds=list(ImportKind),
        runs=importing.import_runs(db.session),
        uninvited=len(people.uninvited_people(db.session)),
        action_form=ActionForm(),
    )


@bp.get("/settings/import")
def import_page() -> Response:
    return _page(ImportUploadForm())


@bp.post("/settings/import")
@takes_upload(UPLOAD_BODY_BYTES, TOO_LARGE)
def import_upload() -> Response:
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            run, _plan = importing.preview_import(
                db.session,
                g.tenant,
                current_user,
                ImportKind(form.kind.data),
                upload.filename or "",
                upload.read(importing.MAX_BYTES + 1),
            )
        except DomainError as exc:
            db.session.rollback()
            form.file.errors = [exc.message]
        else:
            db.session.commit()
            return hx_redirect(url_for(".import_detail", run_id=run.id))
    return _page(form, form_status())


@bp.get("/settings/import/template.csv")
def import_template() -> Response:
    kind = request.args.get("kind", "")
    if kind not in ImportKind.__members__.values():
        abort(404)
    header, example = importing.template_csv(ImportKind(kind))
    return csv_response(f"prepbase-import-{kind}.csv", header, [example])


def _detail(run: ImportRun, form: ImportConfirmForm, status: int = 200) -> Response:
    plan = None
    file_error = None
    if run.status == ImportStatus.PREVIEWED:
        try:
            plan = importing.plan(db.session, g.tenant, ImportKind(run.kind), run.file_text)
        except DomainError as exc:
            file_error = exc.message
    shown = []
    if plan is not None:
        good = [r for r in plan.rows if r.outcome != importing.OUTCOME_REFUSED]
        shown = sorted(plan.refused + good[:PREVIEW_ROWS], key=lambda r: r.number)
    return render(
        "admin/settings/import_detail.html",
        status=status,
        run=run,
        plan=plan,
        shown=shown,
        file_error=file_error,
        form=form,
        columns=importing.COLUMNS[ImportKind(run.kind)],
    )


@bp.get("/settings/import/<id:run_id>")
def import_detail(run_id: int) -> Response:
    return _detail(get_or_404(ImportRun, run_id), ImportConfirmForm())


@bp.post("/settings/import/<id:run_id>/confirm")
def import_confirm(run_id: int) -> Response:
    run = get_or_404(ImportRun, run_id)
    form = ImportConfirmForm()
    if form.validate_on_submit():
        try:
            importing.apply_import(
                db.session,
                g.tenant,
                current_user,
                run,
                all_or_nothing=bool(form.all_or_nothing.data),
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                f"Imported: {run.rows_created} new, {run.rows_unchanged} already here, "
                f"{run.rows_refused} refused.",
                "success",
            )
    return hx_redirect(url_for(".import_detail", run_id=run.id))


@bp.get("/settings/import/<id:run_id>/refused.csv")
def import_refused_csv(run_id: int) -> Response:
    run = get_or_404(ImportRun, run_id)
    rows = list(csv.reader(io.StringIO(run.refused_csv, newline="")))
    header, body = (rows[0], rows[1:]) if rows else (["Row", "Why it was not imported"], [])
    return csv_response(f"import-{run.id}-refused-rows.csv", header, body)


@bp.post("/settings/import/invite")
def import_invite_all() -> Response:
    if ActionForm().validate_on_submit():
        invited = people.invite_uninvited(db.session, current_user, invite_ttl())
        for user, raw in invited:
            send_invitation(db.session, g.tenant, user, raw)
        db.session.commit()
        flash(f"Invitations sent to {len(invited)} people.", "success")
    return hx_redirect(url_for(".import_page"))
