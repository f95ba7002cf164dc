"""Static security checks that run with the tests: bandit finds nothing in the code that ships."""

import subprocess
import sys

from tests.support import ROOT


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
