"""Owners paying online: bill links, orders, provider notifications, receipts, reconciliation (provider-neutral)."""
