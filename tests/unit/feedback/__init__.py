"""Tests of propfee.feedback: owners' replies and tickets."""
