"""A sandbox kept running says where the staff console is and prints the seeded users' sign-ins: `propfee sandbox
up`, and `propfee demo --keep-running` (`make demo DEMO_FLAGS=--keep-running`) when its month is simulated."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from propfee import cli
from propfee.cli import operations
from propfee.console.permissions import Role, StaffRecord
from propfee.domain.models import Collector, Community
from propfee.local.sandbox.staff import SignIn
from tests.support import SHANGHAI


def sign_ins() -> list[SignIn]:
    collector = StaffRecord(sub="s-k", email="collector@x.internal", communities=frozenset({"C01"}), collector_id="K7")
    clerk = StaffRecord(sub="s-e", email="clerk@x.internal", communities=frozenset({"C01"}),
                        departments=frozenset({"engineering"}))  # fmt: skip
    return [SignIn("collector@x.internal", "Pw-collector-1!", Role.COLLECTOR, collector),
            SignIn("clerk@x.internal", "Pw-clerk-2!", Role.DEPARTMENT_CLERK, clerk)]  # fmt: skip


def test_the_console_and_each_sign_in_are_printed(capsys):
    operations.announce_console("http://127.0.0.1:8123", sign_ins())
    out = capsys.readouterr().out
    assert "the staff console: http://127.0.0.1:8123/console" in out
    assert "collector@x.internal" in out and "Pw-collector-1!" in out and "C01 collector K7" in out
    assert "C01 engineering" in out


def test_the_demo_kept_running_seeds_its_staff_prints_the_console_and_serves_until_ctrl_c(monkeypatch, capsys):
    seeded = {}

    def seed(sandbox, table, communities, collector):
        seeded.update(communities=communities, collector=collector)
        return sign_ins()

    monkeypatch.setattr("propfee.local.sandbox.staff.seed_staff", seed)
    delivered = []

    def sleep(_seconds):
        if delivered:
            raise KeyboardInterrupt
        delivered.append(True)

    monkeypatch.setattr(operations.wallclock, "sleep", sleep)
    sandbox = SimpleNamespace(
        http_api=SimpleNamespace(url="http://127.0.0.1:8124"),
        clock=SimpleNamespace(now=lambda: datetime(2026, 11, 30, 23, 0, tzinfo=SHANGHAI)),
        deliver_payment_notices=lambda: delivered.append("paid"),
    )
    world = SimpleNamespace(
        snapshot=SimpleNamespace(communities=[Community(community_id="C01", name="a"),
                                              Community(community_id="C02", name="b")]),
        collectors=[Collector(collector_id="L1", name="律", communities=("C01",), role="site_manager"),
                    Collector(collector_id="K7", name="张", communities=("C01",))],
    )  # fmt: skip
    operations.serve_console(sandbox, object(), world)
    out = capsys.readouterr().out
    assert seeded == {"communities": ["C01", "C02"], "collector": "K7"}
    assert "kept running" in out and "2026-11-30" in out and "http://127.0.0.1:8124/console" in out
    assert "Pw-clerk-2!" in out and "Ctrl-C stops it" in out
    assert "paid" in delivered  # served: the emulators' payments delivered while it waits


def test_the_demo_takes_keep_running():
    assert cli.build_parser().parse_args(["demo", "--keep-running"]).keep_running is True
    assert cli.build_parser().parse_args(["demo"]).keep_running is False  # `make demo` as it was
