"""The Lambda layer holds what the handlers load and nothing of the workstation's: checked on what the layer's build
copies (always), and on `make build`'s output when there is one."""

import ast
import importlib.metadata
import importlib.util
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from propfee.collection import cjk_pdf
from propfee.local.sandbox.template import load_template
from tests.support import ROOT

SHARED = ROOT / "shared"
BUILT = ROOT / ".aws-sam" / "build" / "PropfeeLayer" / "python"
_spec = importlib.util.spec_from_file_location("layer_build", SHARED / "layer_build.py")
assert _spec and _spec.loader
layer_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layer_build)

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function and all its layers, unzipped (Lambda quotas)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    """What build-PropfeeLayer copies of the source tree (the package and the font), without pip."""
    source = tmp_path_factory.mktemp("shared")
    (source / "propfee").symlink_to(SHARED / "propfee", target_is_directory=True)
    (source / "fonts").mkdir()
    (source / "fonts" / layer_build.FONT).write_bytes(b"a font")
    destination = tmp_path_factory.mktemp("layer") / "python"
    layer_build.package(source, destination)
    return destination


def _propfee_modules(root: Path) -> dict[str, Path]:
    modules = {}
    for path in (root / "propfee").rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (lazy imports load in Lambda too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]


def test_the_layer_leaves_out_the_sandbox_the_simulation_and_the_cli(packaged):
    shipped = _propfee_modules(packaged)
    assert "propfee.collection.sending" in shipped and "propfee.aws.messaging" in shipped
    local_only = ("propfee.local", "propfee.cli", "propfee.reports.notice_board", "propfee.feedback.intent_training")
    local = [m for m in shipped if m.startswith(local_only)]
    assert local == []
    assert not [p for p in packaged.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
    # the data the handlers read at run time does go: rules, intents, every message and report template
    templates = {p.name for p in (SHARED / "propfee" / "templates").iterdir()}
    assert {p.name for p in (packaged / "propfee" / "templates").iterdir()} == templates
    assert (packaged / "propfee" / "rules.yaml").is_file() and (
        packaged / "propfee" / "feedback" / "intents.yaml"
    ).is_file()
    assert (packaged / "fonts" / layer_build.FONT).is_file()
    # /opt/python/fonts/, where propfee.collection.letters looks when the font's package is not installed (Lambda)
    assert Path("/opt/python/fonts") / layer_build.FONT in cjk_pdf.FONT_CANDIDATES


def test_every_propfee_module_a_handler_can_import_is_in_the_layer(packaged):
    shipped = _propfee_modules(packaged)
    pending = [
        ROOT / "functions" / name / "app.py" for name in sorted(p.parent.name for p in ROOT.glob("functions/*/app.py"))
    ]
    assert len(pending) >= 10
    seen: set[Path] = set()
    missing = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            if name.split(".")[0] != "propfee":
                continue
            if name in shipped:
                pending.append(shipped[name])
            elif name.rpartition(".")[0] not in shipped:  # `from propfee.x import name`: a name, not a module
                missing.add(name)
    assert missing == set()


def test_no_module_in_the_layer_imports_what_only_the_sandbox_or_the_tests_install(packaged):
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    local_only = {
        _name(requirement).lower()
        for group in ("sandbox", "dev")
        for requirement in extras[group]
        if not requirement.startswith("propfee")
    }
    distributions = importlib.metadata.packages_distributions()
    local_modules = {top for top, dists in distributions.items() if {d.lower() for d in dists} & local_only}
    assert {"moto", "samtranslator", "faker", "pytest"} <= local_modules
    offenders = {
        f"{path.relative_to(packaged)}: {name}"
        for path in (packaged / "propfee").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in local_modules
    }
    assert offenders == set()


def test_no_module_in_the_layer_needs_the_phone_data_that_phonenumberslite_leaves_out(packaged):
    # the layer installs phonenumberslite: the same parser and validator, without geocoder, carrier and timezone
    used = {name for path in (packaged / "propfee").rglob("*.py") for name in _imports(path)}
    assert "phonenumbers" in used
    assert not {
        n for n in used if n.startswith(("phonenumbers.geocoder", "phonenumbers.carrier", "phonenumbers.timezone"))
    }


def test_the_layers_requirements_are_the_projects_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    layer = [
        line.strip()
        for line in (SHARED / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    expected = [re.sub(r"\s*#.*", "", r).replace("phonenumbers", "phonenumberslite", 1) for r in project]
    assert sorted(layer) == sorted(expected)


def test_the_pins_leave_out_the_aws_sdk_that_the_runtime_provides():
    resolved = {
        "install": [
            {"metadata": {"name": name, "version": version}}
            for name, version in [
                ("aws-xray-sdk", "2.15.0"),
                ("botocore", "1.44.8"),
                ("Python_DateUtil", "2.9.0.post0"),
                ("urllib3", "2.8.0"),
                ("jmespath", "1.1.0"),
                ("six", "1.17.0"),
                ("wrapt", "2.5.2"),
            ]
        ]
    }
    # X-Ray keeps working: aws-xray-sdk stays and patches the runtime's own botocore
    assert layer_build.pins(resolved) == ["aws-xray-sdk==2.15.0", "wrapt==2.5.2"]


def test_sam_builds_the_layer_with_its_makefile_for_the_functions_runtime():
    sam = load_template(ROOT / "infra" / "template.yaml")
    layer = sam["Resources"]["PropfeeLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "../shared"
    # its compiled wheels are builds for one CPython and one architecture: the functions' own
    assert layer["Properties"]["CompatibleRuntimes"] == [sam["Globals"]["Function"]["Runtime"]] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == sam["Globals"]["Function"]["Architectures"] == ["arm64"]
    # sam runs `make build-<logical id>` in a copy of ContentUri: the target must exist (a dry run lists its steps)
    result = subprocess.run(
        ["make", "--dry-run", "-f", "Makefile", "build-PropfeeLayer", "ARTIFACTS_DIR=/nowhere"],
        cwd=SHARED,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--platform manylinux2014_aarch64" in result.stdout and "--python-version 3.12" in result.stdout


@pytest.mark.skipif(not BUILT.is_dir(), reason="no layer built: `make build` makes one")
def test_the_built_layer_has_no_aws_sdk_no_sandbox_and_fits_lambda():
    assert [path.name for path in BUILT.parent.iterdir()] == ["python"]  # /opt/python: on the runtime's path
    top = {path.name for path in BUILT.iterdir()}
    dists = {layer_build.canonical(p.name.split("-")[0]) for p in BUILT.glob("*.dist-info")}
    assert not {"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath", "six.py"} & top
    assert not layer_build.RUNTIME_PROVIDED & dists
    assert not {"moto", "samtranslator", "faker", "bin", "share"} & top
    assert {"aws_xray_sdk", "aws_lambda_powertools", "pydantic_core", "fonts", "propfee"} <= top
    assert not (BUILT / "propfee" / "local").exists() and not (BUILT / "propfee" / "cli").exists()
    assert (BUILT / "fonts" / layer_build.FONT).stat().st_size > 1_000_000  # the real font, not a placeholder
    # compiled parts are for Lambda (arm64, CPython 3.12), bytecode (when there is any) for CPython 3.12 only
    assert list(BUILT.glob("pydantic_core/*.cpython-312-aarch64-linux-gnu.so"))
    assert {p.name.split(".")[-2] for p in BUILT.rglob("*.pyc")} <= {"cpython-312"}
    unzipped = sum(p.stat().st_size for p in BUILT.rglob("*") if p.is_file())
    assert unzipped < LAMBDA_UNZIPPED_LIMIT / 2, unzipped


def test_the_size_is_measured_unzipped_and_zipped(tmp_path):
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "a.py").write_text("x = 1\n" * 10_000)
    unzipped, zipped = layer_build.size(tmp_path)
    assert unzipped == 60_000 and 0 < zipped < unzipped / 10
    assert layer_build.describe_size(tmp_path).endswith("0.1 MB unzipped, 0.0 MB zipped")
