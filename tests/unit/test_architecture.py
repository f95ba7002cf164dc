"""House rules that keep the code base the shape the architecture describes."""

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "shared" / "propfee"
AWS_SDK = {"boto3", "botocore"}


def _imported_names(path: Path) -> set[str]:
    """Every module a file imports, by its full name (`from propfee import x` counts as propfee.x)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name.split(".")[0] if name.split(".")[0] in AWS_SDK else name for name in found}


def test_handlers_import_only_the_composition_root_and_the_capabilities():
    # import-linter (make lint) keeps the layers of shared/propfee; the handlers are not a package it can read
    handlers = sorted((ROOT / "functions").glob("*/app.py"))
    allowed = ("propfee.wiring", "propfee.observability", "propfee.events", "propfee.domain")
    capabilities = ("propfee.accounts", "propfee.collection", "propfee.feedback", "propfee.reports", "propfee.payments")
    capabilities += ("propfee.web", "propfee.console")  # the pages' toolkit; the staff console
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imported_names(path)
            if name in AWS_SDK or (name.startswith("propfee") and not name.startswith(allowed + capabilities))
        )
        for path in handlers
    }
    assert handlers and {path: names for path, names in offenders.items() if names} == {}


def _routes(tree: ast.Module) -> list[ast.FunctionDef]:
    """An HTTP function's routes: functions under `@app.get(...)`, `@app.post(...)` and the like."""
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("get", "post")
            for d in node.decorator_list
        )
    ]


def test_handlers_stay_thin():
    """At most 40 lines besides the routes of an HTTP function, and each route a call and its answer (five
    lines at most): the work is in the packages."""
    handlers = sorted((ROOT / "functions").glob("*/app.py"))
    assert {h.parent.name for h in handlers} >= {"plan", "send", "daily_report"}
    for handler in handlers:
        source = handler.read_text(encoding="utf-8")
        routes = _routes(ast.parse(source))
        lines = source.splitlines()
        for route in routes:
            body = lines[route.body[0].lineno - 1 : route.end_lineno]
            assert len([b for b in body if b.strip()]) <= 5, f"{handler}: route {route.name} does more than answer"
        in_routes = {n for r in routes for n in range(r.lineno - len(r.decorator_list), (r.end_lineno or 0) + 1)}
        code = [
            line
            for number, line in enumerate(source.splitlines(), start=1)
            if line.strip() and not line.strip().startswith("#") and number not in in_routes
        ]
        assert len(code) <= 40, f"{handler} has {len(code)} code lines besides its routes"


def test_logic_never_reads_the_environment_directly():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "local") or path.is_relative_to(PACKAGE / "cli"):
            continue
        if "os.environ" in path.read_text(encoding="utf-8") or "getenv" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
