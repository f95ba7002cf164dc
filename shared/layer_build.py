"""What goes into the Lambda layer, and its size: shared/Makefile's `build-PropfeeLayer` (which `sam build` runs)
calls this, `make build` prints the size, and tests/unit/test_layer.py checks the rules.

The layer (/opt/python in Lambda) holds the propfee package without what only runs on a workstation, the demand
letters' CJK font, and the runtime dependencies built for Lambda's platform, without the AWS SDK that the runtime
already has. Standard library only: any Python 3.11+ runs it, whatever the functions' runtime.

    python layer_build.py package SRC DEST      propfee/ and fonts/ of SRC into DEST
    python layer_build.py pins REPORT           a `pip install --report` resolution -> name==version lines
    python layer_build.py size DIR              the layer's size, unzipped and zipped
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

# Only the CLI, the local AWS and the build import these (the sandbox and the simulation import moto, training
# scikit-learn): no handler does.
LOCAL_ONLY = ("local", "cli", "reports/notice_board.py", "feedback/intent_training.py")  # under propfee/
SKIPPED = ("__pycache__", "*.pyc")

# "The Lambda Python runtimes include the AWS SDK for Python (Boto3) and its dependencies" (Lambda developer guide,
# "Working with .zip file archives for Python Lambda functions"), which warns that a package's own copy of one of
# them (urllib3, say) shadows the runtime's and breaks its boto3 when Lambda updates it. aws-xray-sdk, which
# Powertools' tracer needs, asks for botocore: the runtime's one serves it, the layer ships none of these.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})

# Noto Sans SC, of the pylopdf-fonts-zh-cn package: propfee.collection.cjk_pdf looks for it at /opt/python/fonts/
# (`make layer-font` copies it into shared/fonts/)
FONT = "NotoSansSC-Regular.otf"


def canonical(name: str) -> str:
    """A distribution's name as PEP 503 compares them (Python_DateUtil == python-dateutil)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def package(source: Path, destination: Path) -> list[Path]:
    """Copy the package and the font from `source` (the layer's ContentUri, shared/) into `destination` (the
    layer's python/); returns the files copied, relative to `destination`."""
    font = source / "fonts" / FONT
    if not font.is_file():
        raise SystemExit(f"no {font}: run `make layer-font` first (the demand letters embed it)")
    skipped = shutil.ignore_patterns(*SKIPPED)

    def ignore(folder: str, names: list[str]) -> set[str]:
        inside = Path(folder).relative_to(source / "propfee")
        local = {name for name in names if (inside / name).as_posix() in LOCAL_ONLY}
        return set(skipped(folder, names)) | local

    shutil.copytree(source / "propfee", destination / "propfee", ignore=ignore, dirs_exist_ok=True)
    (destination / "fonts").mkdir(parents=True, exist_ok=True)
    shutil.copy2(font, destination / "fonts" / FONT)
    return sorted(path.relative_to(destination) for path in destination.rglob("*") if path.is_file())


def pins(report: dict[str, object]) -> list[str]:
    """`pip install --dry-run --report` of the runtime requirements -> the exact versions to install with
    --no-deps, the runtime's own packages left out."""
    installs = report["install"]
    assert isinstance(installs, list)
    chosen = [(item["metadata"]["name"], item["metadata"]["version"]) for item in installs]
    return sorted(f"{name}=={version}" for name, version in chosen if canonical(name) not in RUNTIME_PROVIDED)


def size(layer: Path) -> tuple[int, int]:
    """Bytes unzipped and zipped (deflate, as `sam deploy` uploads it) of a built layer's folder."""
    files = sorted(path for path in layer.rglob("*") if path.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(layer).as_posix())
    return sum(path.stat().st_size for path in files), buffer.tell()


def describe_size(layer: Path) -> str:
    unzipped, zipped = size(layer)
    return f"layer {layer}: {unzipped / 1e6:.1f} MB unzipped, {zipped / 1e6:.1f} MB zipped"


def main(argv: list[str]) -> int:
    match argv:
        case ["package", source, destination]:
            copied = package(Path(source), Path(destination))
            print(f"layer: {len(copied)} files of propfee and its font in {destination}")
        case ["pins", report]:
            print("\n".join(pins(json.loads(Path(report).read_text(encoding="utf-8")))))
        case ["size", layer]:
            print(describe_size(Path(layer)))
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
