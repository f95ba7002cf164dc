"""House rules that keep the code base the shape the architecture describes."""

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "shared" / "propfee"
AWS_SDK = {"boto3", "botocore"}
# only adapters talk to AWS; the sandbox provisions the local AWS itself
ALLOWED = {PACKAGE / "adapters", PACKAGE / "sandbox"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_boto3_is_imported_only_in_the_adapters():
    sources = list(PACKAGE.rglob("*.py")) + list((ROOT / "functions").rglob("*.py"))
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources
        if _imported_modules(path) & AWS_SDK and not any(path.is_relative_to(allowed) for allowed in ALLOWED)
    ]
    assert sources and offenders == []


def test_handlers_stay_thin():
    handlers = sorted((ROOT / "functions").glob("*/app.py"))
    assert {h.parent.name for h in handlers} >= {"plan", "send", "daily_report"}
    for handler in handlers:
        code = [
            line
            for line in handler.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
        assert len(code) <= 40, f"{handler} has {len(code)} code lines"


def test_logic_never_reads_the_environment_directly():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "sandbox") or path.is_relative_to(PACKAGE / "cli"):
            continue
        if "os.environ" in path.read_text(encoding="utf-8") or "getenv" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
