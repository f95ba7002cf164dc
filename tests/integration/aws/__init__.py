"""Tests of propfee.aws: the adapters against moto."""
