"""Units' accounts: bills, payments, the ledger and the imports from billing systems."""
