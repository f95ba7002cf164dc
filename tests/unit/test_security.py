"""Static security checks that run with the tests: bandit finds nothing in the code that ships, checkov nothing in
the template that deploys it."""

import json
import os
import subprocess
import sys

import yaml

from propfee.local.sandbox import default_template_path
from propfee.local.sandbox.template import load_template, local_code_dirs, translate, with_code_in_s3
from tests.support import ROOT

# checkov has a venv of its own (its pinned dependencies must not move the project's): `make test` creates it and
# passes its binary in PROPFEE_CHECKOV (relative to the repository, or absolute); the default is the Makefile's place
CHECKOV = ROOT / os.environ.get("PROPFEE_CHECKOV", ".venv/checkov/bin/checkov")
CHECKOV_CONFIG = ROOT / ".checkov.yaml"


def test_bandit_finds_nothing_in_the_package_and_the_functions():
    # skips are in pyproject.toml ([tool.bandit]), each exception is a `# nosec <id>` with its reason above it
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", "shared/propfee", "functions", "-c", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing_in_the_template_as_deployed(tmp_path):
    assert CHECKOV.is_file(), f"no checkov at {CHECKOV}: `make test` installs it (or set PROPFEE_CHECKOV to one)"
    # What is scanned is the SAM template translated offline, as the sandbox deploys it: checkov reads some SAM, but
    # only the translation holds what AWS gets - each function's IAM role and policies, its event source mappings,
    # Lambda permissions, the function URL (about 80 resources and 230 checks, against 40 and 60 in the SAM source).
    # Skips on single resources are in the template's Metadata, which SAM copies onto the translated resource.
    template = default_template_path()
    sam = load_template(template)
    code = {logical_id: f"{logical_id}.zip" for logical_id in local_code_dirs(sam, template)}
    deployed = tmp_path / "template.json"
    deployed.write_text(json.dumps(translate(with_code_in_s3(sam, "artifacts", code), {}, "ap-northeast-1")))

    result = subprocess.run(
        [str(CHECKOV), "--config-file", str(CHECKOV_CONFIG), "--file", str(deployed), "--output", "json"],
        cwd=tmp_path,
        # no look-up of a newer checkov on PyPI at each run
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"checkov gave no report (exit {result.returncode}):\n{result.stderr[-3000:]}") from None
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert not failed, "checkov: fix the template, or skip with a reason (.checkov.yaml or Metadata):\n" + "\n".join(
        failed
    )
    summary = report["summary"]
    assert summary["parsing_errors"] == 0 and summary["resource_count"] >= 60 and summary["passed"] >= 200, summary
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in results["skipped_checks"]
        if c["check_result"].get("suppress_comment", "No comment provided") in {"", "No comment provided"}
    ]
    assert not unexplained, f"a Metadata skip without its comment: {unexplained}"
    assert result.returncode == 0, result.stderr[-3000:]


def test_each_check_skipped_in_the_checkov_config_says_why_on_its_line():
    text = CHECKOV_CONFIG.read_text(encoding="utf-8")
    skipped = yaml.safe_load(text)["skip-check"]
    assert skipped
    for check in skipped:
        [line] = [line for line in text.splitlines() if line.strip().startswith(f"- {check} ")]
        assert len(line.partition("#")[2].strip()) >= 30, f"{check} is skipped without its reason: {line!r}"
