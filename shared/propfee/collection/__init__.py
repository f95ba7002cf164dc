"""Collecting arrears: the ladder, the contact policy, planning, sending, letters, tasks, evidence."""
