"""Ledger and payment imports from billing-system exports (CSV, XLSX): read, convert, check. Pure: no AWS here.

reading.read_rows -> rows.parse_ledger / rows.parse_payments -> report.CheckSummary and report.write_rejects_csv.
"""
