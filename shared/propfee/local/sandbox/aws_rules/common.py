"""Helpers the rules of more than one service use: exact significant digits, and the service model's
constraints (what the API reference's Length / Pattern / Valid Values / Range are generated from)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any


def significant_digits(number: Decimal) -> int:
    """Exactly (Decimal's normalize() would round to the context's 28 digits)."""
    return len("".join(map(str, number.as_tuple().digits)).strip("0")) or 1


def constraint_problem(shape: Any, field: str, value: Any) -> str | None:
    """The first constraint of the service model (the API reference's Length / Pattern / Valid Values / Range) that
    `value` breaks, in the words AWS's request validation uses. Values are not echoed: they may be phone numbers or
    message text."""
    metadata = shape.metadata  # a value of the wrong type is left to botocore's own validation, which follows
    prefix = f"1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must"
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in metadata and len(value) > metadata["max"]:
            return f"{prefix} have length less than or equal to {metadata['max']}"
        if "min" in metadata and len(value) < metadata["min"]:
            return f"{prefix} have length greater than or equal to {metadata['min']}"
        if shape.enum and value not in shape.enum:
            return f"{prefix} satisfy enum value set: [{', '.join(shape.enum)}]"
        if "pattern" in metadata and not re.fullmatch(metadata["pattern"], value):
            return f"{prefix} satisfy regular expression pattern: {metadata['pattern']}"
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "max" in metadata and value > metadata["max"]:
            return f"{prefix} have value less than or equal to {metadata['max']}"
        if "min" in metadata and value < metadata["min"]:
            return f"{prefix} have value greater than or equal to {metadata['min']}"
    elif shape.type_name == "map" and isinstance(value, dict):
        if "max" in metadata and len(value) > metadata["max"]:
            return f"{prefix} have length less than or equal to {metadata['max']}"
        for key, item in value.items():
            problem = constraint_problem(shape.key, f"{field}.key", key) or constraint_problem(
                shape.value, f"{field}.value", item
            )
            if problem:
                return problem
    elif shape.type_name == "list" and isinstance(value, list | tuple):
        if "max" in metadata and len(value) > metadata["max"]:
            return f"{prefix} have length less than or equal to {metadata['max']}"
        for index, item in enumerate(value):
            problem = constraint_problem(shape.member, f"{field}.{index + 1}", item)
            if problem:
                return problem
    elif shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                problem = constraint_problem(
                    member,
                    f"{field}.{name[0].lower()}{name[1:]}" if field else f"{name[0].lower()}{name[1:]}",
                    value[name],
                )
                if problem:
                    return problem
    return None


def model_problem(service: str, shape_name: str, field: str, value: Any) -> str | None:
    from botocore.session import get_session

    shape = get_session().get_service_model(service).shape_for(shape_name)
    return constraint_problem(shape, field, value)
