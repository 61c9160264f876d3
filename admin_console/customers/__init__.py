"""Customer records in the console, one blueprint over several modules:

- views.py: the list (search, filters, sort, pages), creating and editing a customer, the
  customer's page and its account manager;
- records.py: addresses and contacts;
- users.py: the customer's portal users (invitation, reset, lock, role and scope);
- timeline.py: notes and the timeline.

Every route takes the customer through ``admin_console.scope.customer_or_404`` (an account
manager's foreign customer answers 404), then checks the right to change it (403).
"""

from flask import Blueprint

bp = Blueprint("customers", __name__)
