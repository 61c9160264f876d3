"""An account manager creates a customer, invites its fleet administrator, defines and
activates a contract with individual prices in the console; the fleet administrator follows the
link of the invitation e-mail (delivered by a real worker to the outbox), sets a password, signs
in and sees exactly that offer in the portal. Through a real browser, in Polish (the default
language).
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Contract, ContractState, Customer
from services.contracts import today
from tests.e2e.conftest import click_menu, sign_in
from tests.factories import make_staff, valid_nip
from tests.fleet_factories import make_handset, make_tariff
from tests.workers.test_provisioning import run_worker

NEW_PASSWORD = "Gdańsk-flota-2026"

pytestmark = pytest.mark.browser


def flat(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


def invitation_link(outbox, recipient: str) -> str:
    """The link in the one message to ``recipient`` that the worker wrote to the outbox."""
    messages = [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        for f in sorted(outbox.glob("*.eml"))
    ]
    mine = [m for m in messages if m["To"] and recipient in m["To"]]
    assert len(mine) == 1, [m["To"] for m in messages]
    text = mine[0].get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://\S+/welcome/\S+", text)
    assert len(links) == 1, text
    return links[0]


def test_manager_defines_a_contract_and_the_fleet_admin_sees_its_offer(
    live_server, browser, page, committed, rt
):
    manager = make_staff(committed, email="opiekun@operator.example", full_name="Ewa Opiekun")
    biz_m = make_tariff(committed, code="BIZ-M", name="Biznes M", fee="49.99")
    biz_l = make_tariff(committed, code="BIZ-L", name="Biznes L", fee="79.99")
    galaxy = make_handset(committed, name="Galaxy S25 256 GB", price="4299.00")
    iphone = make_handset(committed, name="iPhone 16 128 GB", price="3999.00")
    # Plain values now: touching an entity after the commit would open a transaction here,
    # and on SQLite that holds the write lock the server needs.
    manager_id, email = manager.id, manager.email
    biz_m_id, biz_l_name = biz_m.id, biz_l.name
    galaxy_id, iphone_name = galaxy.id, iphone.name
    committed.commit()

    # --- the console: sign in, create the customer -------------------------------------------
    page.on("dialog", lambda dialog: dialog.accept())  # "Activate …?" confirmations
    sign_in(page, live_server, email, console=True)

    page.goto(f"{live_server}/admin/customers/new")
    page.fill("input[name=name]", "Gamma Transport S.A.")
    page.fill("input[name=nip]", valid_nip(4242))
    page.fill("input[name=street]", "ul. Portowa 7")
    page.fill("input[name=postal_code]", "80-001")
    page.fill("input[name=city]", "Gdańsk")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/customers/\d+$"))
    customer = committed.scalar(select(Customer).where(Customer.name == "Gamma Transport S.A."))
    assert customer.account_manager_id == manager_id
    customer_id, customer_number = customer.id, customer.number
    committed.rollback()

    # --- invite the fleet administrator; a worker delivers the mail to the outbox ------------
    page.click(f"main a[href='/admin/customers/{customer_id}/users']")
    page.click(f"main a[href='/admin/customers/{customer_id}/users/invite']")
    page.fill("input[name=email]", "flota@gamma.example")
    page.fill("input[name=full_name]", "Jan Flotowy")
    assert page.locator("select[name=role]").input_value() == "fleet_admin"
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(rf".*/admin/customers/{customer_id}/users$"))
    assert "flota@gamma.example" in page.locator("main").inner_text()
    run_worker(committed)
    link = invitation_link(rt.settings.instance_path / "outbox", "flota@gamma.example")
    assert link.startswith(live_server + "/welcome/")

    # --- a draft contract with individual prices ----------------------------------------------
    click_menu(page, "/admin/contracts/")  # the console's main menu
    page.click("main a[href$='/admin/contracts/new']")
    page.fill("input[name=customer]", customer_number)
    page.fill("input[name=valid_to]", (today() + timedelta(days=730)).isoformat())
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/contracts/\d+$"))
    contract_url = page.url

    page.fill("input[name=subsidy_budget]", "20 000")
    page.fill("input[name=approval_threshold]", "5 000")
    page.fill("input[name=handset_discount_percent]", "5")
    page.click("#terms button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/contracts/\d+#terms$"))

    # Bad input first: a negative price is refused on its field and nothing is added.
    page.select_option("select[name=item]", f"t:{biz_m_id}")
    page.fill("input[name=price]", "-39")
    page.click("#item-form button[type=submit]")
    assert page.locator("#price-errors").is_visible()
    page.console_errors.clear()  # the refusal answered 422, which Chromium logs

    page.select_option("select[name=item]", f"t:{biz_m_id}")
    page.fill("input[name=price]", "39,00")
    page.click("#item-form button[type=submit]")
    page.wait_for_url(re.compile(r".*#items$"))
    page.select_option("select[name=item]", f"p:{galaxy_id}")
    page.fill("input[name=discount_percent]", "12,5")
    page.click("#item-form button[type=submit]")
    page.wait_for_url(re.compile(r".*#items$"))
    items = flat(page.locator("#items table").inner_text())
    assert "Biznes M" in items and "39,00 zł" in items and "49,99 zł" in items
    assert "3 761,63 zł" in items  # 4 299,00 zł less 12.5 %

    pdf = page.request.get(re.sub(r"#.*$", "", contract_url) + "/versions/1.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF-")

    page.click("main form[action$='/activate'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/contracts/\d+$"))
    contract = committed.scalar(select(Contract).where(Contract.customer_id == customer_id))
    assert contract.state == ContractState.active
    number = contract.number
    committed.rollback()  # end the read: the portal's sign-in writes
    assert page.console_errors == []

    # --- the portal: the fleet administrator sees exactly that offer -------------------------
    portal = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
    fleet = portal.new_page()
    errors: list[str] = []
    fleet.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    fleet.goto(link)
    assert "Jan Flotowy" in fleet.locator("main").inner_text()
    fleet.fill("input[name=password]", NEW_PASSWORD)
    fleet.fill("input[name=confirm]", NEW_PASSWORD)
    fleet.click("main button[type=submit]")
    fleet.wait_for_url(f"{live_server}/")
    portal.close()

    # A fresh browser: the new password signs in.
    portal = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
    fleet = portal.new_page()
    fleet.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(fleet, live_server, "flota@gamma.example", password=NEW_PASSWORD)
    click_menu(fleet, "/offer/")
    fleet.wait_for_url(f"{live_server}/offer/")

    shown = set(
        fleet.locator("[data-offer-item]").evaluate_all(
            "cards => cards.map(c => c.dataset.offerItem)"
        )
    )
    assert shown == {f"tariff-{biz_m_id}", f"product-{galaxy_id}"}
    body = flat(fleet.locator("main").inner_text())
    assert number in body
    tariff_card = flat(fleet.locator(f"[data-offer-item='tariff-{biz_m_id}']").inner_text())
    assert "39,00 zł" in tariff_card and "49,99 zł" in tariff_card
    assert (
        fleet.locator(f"[data-offer-item='tariff-{biz_m_id}'] del").inner_text().startswith("49,99")
    )
    phone_card = flat(fleet.locator(f"[data-offer-item='product-{galaxy_id}']").inner_text())
    assert "3 761,63 zł" in phone_card and "4 299,00 zł" in phone_card
    assert iphone_name not in body and biz_l_name not in body
    assert errors == []
    portal.close()
