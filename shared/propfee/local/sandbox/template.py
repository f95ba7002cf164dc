"""Read infra/template.yaml and turn it into the CloudFormation that moto deploys.

The template is the only list of resources: this module loads it (CloudFormation short tags included),
points local CodeUri/ContentUri at zips uploaded to the sandbox's artifact bucket, and translates SAM
offline with aws-sam-translator.
"""

from __future__ import annotations

import copy
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import yaml

SAM_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that maps short intrinsic tags (!Ref, !GetAtt, !Sub ...) to their long form."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        # _CfnLoader is a SafeLoader subclass that only adds the CloudFormation tags
        loaded = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506  # nosec B506
    if not isinstance(loaded, dict) or "Resources" not in loaded:
        raise ValueError(f"{path} is not a CloudFormation/SAM template")
    return loaded


def local_code_dirs(template: dict[str, Any], template_path: Path) -> dict[str, Path]:
    """Logical id -> local folder of every SAM function and layer."""
    dirs: dict[str, Path] = {}
    for logical_id, resource in template["Resources"].items():
        prop = SAM_CODE_PROPERTIES.get(resource.get("Type", ""))
        if prop is None:
            continue
        uri = resource.get("Properties", {}).get(prop)
        if isinstance(uri, str) and not uri.startswith("s3://"):
            dirs[logical_id] = (template_path.parent / uri).resolve()
    return dirs


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def with_code_in_s3(template: dict[str, Any], bucket: str, keys: dict[str, str]) -> dict[str, Any]:
    """A copy of the SAM template whose local code locations point at uploaded zips."""
    result = copy.deepcopy(template)
    for logical_id, key in keys.items():
        resource = result["Resources"][logical_id]
        resource["Properties"][SAM_CODE_PROPERTIES[resource["Type"]]] = f"s3://{bucket}/{key}"
    return result


class _NoManagedPolicies:
    """aws-sam-translator asks IAM for AWS managed policy ARNs; offline there are none to look up."""

    def load(self) -> dict[str, str]:
        return {}


def translate(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, Any]:
    """SAM -> plain CloudFormation, offline."""
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    if "Transform" not in template:
        return copy.deepcopy(template)
    return transform(copy.deepcopy(template), parameters, _NoManagedPolicies())  # type: ignore[arg-type]
