"""Mail templates in the console: placeholders, editing, switching off, the live preview."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEvent, MailTemplate, StaffRole
from tests.admin_console.mail_data import html, login, mail_world
from tests.conftest import csrf_token, post_form
from tests.factories import make_staff


@pytest.fixture
def world(db):
    return mail_world(db)


def test_manager_creates_a_template_with_placeholders(client, db, world):
    login(client, world["anna"])
    r = post_form(
        client,
        "/admin/mail/templates/new",
        {
            "name": "Przypomnienie",
            "subject": "Faktura dla {customer_name} ({customer_number})",
            "body": "Dzień dobry {contact_name},\nportal: {portal_url}\n{{nawiasy}}",
            "action": "save",
        },
    )
    assert r.status_code == 302
    t = db.scalar(select(MailTemplate).where(MailTemplate.name == "Przypomnienie"))
    assert t.is_active and t.body.endswith("{{nawiasy}}")
    assert db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "mail_template.created", AuditEvent.object_id == t.id
        )
    )
    page = html(client.get("/admin/mail/templates"))
    assert "Przypomnienie" in page and "{customer_name}" in page


@pytest.mark.parametrize(
    "subject, body, field_text",
    [
        ("Hello {customer}", "Body", "Unknown placeholder {customer}"),
        ("Hello", "Hi {customer_name.__class__}", "Unknown placeholder {customer_name.__class__}"),
        ("Hello", "Hi {0}", "Unknown placeholder {0}"),
        ("Hello", "Hi {customer_name!r}", "Unknown placeholder {customer_name!r}"),
        ("Hello", "Hi {customer_name:>99}", "Unknown placeholder"),
        ("Hello", "Hi {customer_name", "A brace is not closed"),
        ("Hello", "Hi }", "A brace is not closed"),
        ("", "Body", "Enter the subject."),
        ("Hello", "   ", "Enter the text of the message."),
    ],
)
def test_bad_template_is_refused_on_its_field(client, db, world, subject, body, field_text):
    login(client, world["anna"])
    before = db.scalar(select(func.count()).select_from(MailTemplate))
    r = post_form(
        client,
        "/admin/mail/templates/new",
        {"name": "Zły", "subject": subject, "body": body, "action": "save"},
    )
    assert r.status_code == 422
    assert field_text in html(r)
    assert db.scalar(select(func.count()).select_from(MailTemplate)) == before


def test_edit_rename_clash_and_switch_off(client, db, world):
    w = world
    login(client, w["anna"])
    db.add(MailTemplate(name="Inny", subject="S", body="B"))
    db.flush()
    url = f"/admin/mail/templates/{w['template'].id}"
    r = post_form(client, url, {"name": "inny", "subject": "S", "body": "B", "action": "save"})
    assert r.status_code == 422 and "already exists" in html(r)
    r = post_form(
        client,
        url,
        {"name": "Cennik 2027", "subject": "Cennik", "body": "Treść", "action": "save"},
    )
    assert r.status_code == 302
    db.refresh(w["template"])
    assert w["template"].name == "Cennik 2027"

    token = csrf_token(html(client.get("/admin/mail/templates")))
    client.post(f"{url}/active", data={"csrf_token": token, "active": "0"})
    db.refresh(w["template"])
    assert not w["template"].is_active
    option = f'<option value="{w["template"].id}"'
    assert option not in html(client.get("/admin/mail/compose"))
    client.post(f"{url}/active", data={"csrf_token": token, "active": "1"})
    db.refresh(w["template"])
    assert w["template"].is_active
    assert option in html(client.get("/admin/mail/compose"))


def test_sales_admin_reads_templates_only(client, db, world):
    w = world
    login(client, make_staff(db, StaffRole.sales_admin))
    assert client.get("/admin/mail/").headers["Location"].endswith("/admin/mail/templates")
    page = html(client.get(f"/admin/mail/templates/{w['template'].id}"))
    assert "Nowy cennik" in page and "readonly" in page and "Save template" not in page
    assert client.get("/admin/mail/templates/new").status_code == 403
    token = csrf_token(page)
    r = client.post(
        f"/admin/mail/templates/{w['template'].id}",
        data={"csrf_token": token, "name": "X", "subject": "S", "body": "B", "action": "save"},
    )
    assert r.status_code == 403
    r = client.post(
        f"/admin/mail/templates/{w['template'].id}/active",
        data={"csrf_token": token, "active": "0"},
    )
    assert r.status_code == 403
    assert client.get("/admin/mail/compose").status_code == 403
    r = client.post(
        f"/admin/mail/templates/{w['template'].id}",
        data={
            "csrf_token": token,
            "name": "X",
            "subject": "Dla {customer_name}",
            "body": "B",
            "preview_customer": w["foreign"].id,
            "action": "preview",
        },
    )
    assert r.status_code == 200 and "Dla Obca Firma S.A." in html(r)  # may preview, not save
    db.refresh(w["template"])
    assert w["template"].name == "Nowy cennik" and w["template"].is_active


def test_live_preview_for_a_chosen_customer(client, db, world):
    w = world
    login(client, w["anna"])
    page = html(client.get(f"/admin/mail/templates/{w['template'].id}"))
    assert 'hx-post="/admin/mail/templates/preview"' in page
    assert "Nowy cennik dla Alfa Sp. z o.o." in page  # the first customer by name
    token = csrf_token(page)

    def preview(customer, subject="Dla {customer_name}", body="Witaj {contact_name}"):
        return client.post(
            "/admin/mail/templates/preview",
            data={
                "csrf_token": token,
                "subject": subject,
                "body": body,
                "preview_customer": customer.id,
            },
        )

    r = preview(w["beta"])
    assert r.status_code == 200
    assert "Dla Beta S.A." in html(r) and "Witaj Piotr Prezes" in html(r)
    r = preview(w["beta"], body="Witaj {nazwisko}")
    assert r.status_code == 200 and "Unknown placeholder {nazwisko}" in html(r)
    assert preview(w["foreign"]).status_code == 404
    # Without JavaScript: the Preview button re-renders the page, nothing is saved.
    r = post_form(
        client,
        f"/admin/mail/templates/{w['template'].id}",
        {
            "name": "Nowy cennik",
            "subject": "Temat <b>{customer_name}</b>",
            "body": "Treść",
            "preview_customer": w["beta"].id,
            "action": "preview",
        },
    )
    assert r.status_code == 200 and "Temat &lt;b&gt;Beta S.A.&lt;/b&gt;" in html(r)
    db.refresh(w["template"])
    assert w["template"].subject == "Nowy cennik dla {customer_name}"
