"""A small company for self-service tests: a tree, an admin per level, an employee with a line."""

from __future__ import annotations

from dataclasses import dataclass

from models import Customer, Employee, Line, OrgUnit, PortalRole, PortalUser
from tests.factories import make_customer, make_portal_user, make_unit
from tests.fleet_factories import make_employee, make_line, make_tariff


@dataclass
class Company:
    customer: Customer
    root: OrgUnit
    sales: OrgUnit
    team: OrgUnit
    other: OrgUnit
    admin: PortalUser  # whole company
    sales_admin: PortalUser  # limited to sales
    employee: Employee
    user: PortalUser  # the employee's sign-in
    line: Line


def make_company(session, **line_kw) -> Company:
    c = make_customer(session)
    root = make_unit(session, c, "Firma")
    sales = make_unit(session, c, "Sprzedaż", root)
    team = make_unit(session, c, "Zespół Północ", sales)
    other = make_unit(session, c, "Księgowość", root)
    admin = make_portal_user(session, c, full_name="Anna Admin")
    sales_admin = make_portal_user(session, c, scope_unit=sales, full_name="Sebastian Sprzedaż")
    employee = make_employee(session, c, team, name="Jan Pracownik")
    user = make_portal_user(
        session, c, role=PortalRole.employee, employee_id=employee.id, email=employee.email
    )
    line = make_line(session, c, team, make_tariff(session), employee, **line_kw)
    return Company(c, root, sales, team, other, admin, sales_admin, employee, user, line)
