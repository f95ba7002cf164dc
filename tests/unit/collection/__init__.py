"""Tests of propfee.collection: the ladder, policy, planning, sending, letters, tasks, evidence."""
