"""The documents of an invoice: KSeF FA(3) XML (``fa3``), UBL 2.1 / Peppol BIS Billing 3.0
(``ubl``), the PDF (``documents``, ``templates/pdf/invoice.html``) and the billing detail
(``detail``): every line as CSV and XLSX, and the PDF appendix by number and cost centre;
large details are made by a worker (``detail_work``). ``archive`` zips a period's documents.

All of them print the same lines (``lines.summary``): the invoice's own lines, or for a
large invoice one summary line per tariff or product, so the FA(3) stays far below KSeF's
1 MB; the per-line detail is then in the billing-detail files. Amounts come from the stored
lines and totals; nothing is recomputed here.
"""
