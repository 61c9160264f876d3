"""Customer reports: SIM configuration and usage, their exports and monthly subscriptions.

- ``period``: the period a usage report covers, parsed and checked;
- ``usage_report``: usage grouped by line, unit (with subtree totals), tariff or employee,
  top spenders and month over month — set-based SQL over the monthly rollup
  (``usage_monthly``) for whole months and ``usage_daily`` for the days at a period's edges;
- ``sim_report``: per line SIM configuration, PIN/PUK only when the caller asks and may;
- ``tables``: a report as a plain table, written as CSV, XLSX or PDF;
- ``chart``: bar-chart geometry that templates draw as inline SVG.
"""
