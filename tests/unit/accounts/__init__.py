"""Tests of propfee.accounts: bills, payments, ledger and imports."""
