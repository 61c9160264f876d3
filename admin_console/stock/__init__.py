"""Stock and the back-order queues in the console, one blueprint over several modules:

- views.py: the stock overview, one product (levels, its queue, what is allocated, expected
  deliveries) and the summary of every queue;
- receiving.py: receiving a delivery, the delivery-notice file import, the warehouse
  simulator, and the receipts;
- planning.py: expected deliveries and warehouses;
- shipping.py: allocated lines ready to ship, marking them shipped, picking lists;
- backorders.py: the queues as staff read them (serving order, expected dates, summaries).

Sales administrators and operator administrators change stock; account managers read every
page, with other managers' customers shown anonymised.
"""

from flask import Blueprint

bp = Blueprint("stock", __name__, url_prefix="/stock")
