"""Settings → E-mail in the browser: contact details saved, a failed message resent
with htmx, the pages axe-clean and usable at 390 px."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy.orm import Session

from prepbase.mail.outbox import MAX_ATTEMPTS, queue_email
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import sign_in
from tests.e2e.test_buy_hours import serious_axe_violations
from tests.factories import make_business


def test_admin_sets_the_contact_and_resends_a_failed_message(
    new_page, tenants, in_live_app, mailbox
):
    slug = tenants.new_slug("mail")
    bounced_to = f"bounced@{slug}.example.com"

    def build(session: Session) -> str:
        b = make_business(session, slug)
        with as_tenant(b.tenant.id):
            message = queue_email(session, bounced_to, "Your session is cancelled", "Hi")
            message.status, message.attempts = "failed", MAX_ATTEMPTS
            message.last_error = "(450, b'4.2.0 Mailbox busy')"
            session.flush()
        return b.admin.email

    admin_email = in_live_app(build)
    page = new_page(phone=True)
    sign_in(page, slug, str(admin_email))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    page.goto(f"/{slug}/admin/settings")
    page.get_by_label("Contact phone (optional)").fill("+44 20 7946 0000")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_label("Contact phone (optional)")).to_have_value("+44 20 7946 0000")
    expect(page.get_by_text("1 message could not be delivered.")).to_be_visible()
    problems = serious_axe_violations(page)

    page.get_by_role("link", name="E-mail delivery").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("E-mail delivery")
    row = page.get_by_role("row", name=bounced_to)
    expect(row).to_contain_text("Mailbox busy")
    problems += serious_axe_violations(page)
    # Nothing sticks out at 390 px: the table scrolls in its own box.
    assert_no_sideways_scroll(page, 390)

    row.get_by_role("button", name="Resend").click()
    expect(page.get_by_text(f"The message to {bounced_to} is being sent again.")).to_be_visible()
    expect(page.get_by_text("No message has failed for good.")).to_be_visible()
    [message] = mailbox.to(bounced_to)
    assert message["Reply-To"] == f"{slug.title()} Tutoring <owner@{slug}.example.com>"
    assert not problems, "\n".join(problems)
