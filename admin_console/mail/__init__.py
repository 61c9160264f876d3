"""E-mail to customers in the console, one blueprint over several modules:

- views.py: the outbox (queued, sent and failed messages), one message, sending failed ones
  again;
- compose.py: writing to chosen customers' contacts and portal users, preview, sending;
- templates.py: the mail templates and the live preview of their placeholders.

Account managers write to their own customers only and see only their mail; operator admins
everything. Sales admins read the templates.
"""

from flask import Blueprint

bp = Blueprint("mail", __name__, url_prefix="/mail")
