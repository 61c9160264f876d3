"""Queue names, in the order a worker serves them (earlier first)."""

PROVISIONING = "provisioning"
BACKORDERS = "backorders"
MAIL = "mail"
DOCUMENTS = "documents"
BILLING = "billing"
USAGE = "usage"
DEFAULT = "default"

ALL = (PROVISIONING, BACKORDERS, MAIL, DOCUMENTS, BILLING, USAGE, DEFAULT)
