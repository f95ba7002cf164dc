"""Tests of propfee.local: the sandbox and the simulation."""
