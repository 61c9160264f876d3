"""Fleet export and import.

- ``export``: the lines a fleet filter selects, as typed rows, and the CSV and XLSX writers.
- ``reading``: reading an import file (CSV or XLSX) into rows, by column headers.
- ``checking``: checking the rows against the current data: a plan of changes or errors.
- ``applying``: carrying out a plan in one transaction, audited per line.
- ``work``: the background tasks (export, check, apply) and what their jobs run.
- ``housekeeping``: expiring task files, finding tasks whose job was lost.
"""
