"""The documents of an invoice: KSeF FA(3) XML (``fa3``), UBL 2.1 / Peppol BIS Billing 3.0
(``ubl``), the PDF (``pdf``) and the per-line billing detail as CSV and XLSX (``detail``).

All of them print the same lines (``lines.document_lines``): the invoice's own lines, or for a
large invoice one summary line per tariff or product, so the FA(3) stays far below KSeF's
1 MB; the per-line detail is then in the billing-detail files. Amounts come from the stored
lines and totals; nothing is recomputed here.
"""
