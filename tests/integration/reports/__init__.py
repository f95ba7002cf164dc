"""Tests of propfee.reports: the daily report and the notice board."""
