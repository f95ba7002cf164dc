"""Tests of propfee.domain: the shared vocabulary."""
