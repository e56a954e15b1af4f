"""Check driver options and box files against a pydantic model.

pydantic does the checking; this module only rewrites its first complaint
into a `DriverConfigError` a person can act on: which key, what value, what
is expected. One error at a time keeps the message short; fixing a file
usually goes one key at a time anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hardware.errors import DriverConfigError

M = TypeVar("M", bound=BaseModel)


def validate(
    model: type[M],
    data: Mapping[str, Any],
    *,
    source: str,
    error: type[DriverConfigError] = DriverConfigError,
) -> M:
    """`model` built from `data`, or `error` naming the first bad key."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise error(
            key_path(first["loc"]),
            first.get("input"),
            _expected(first, model),
            source=source,
        ) from None


def key_path(loc: tuple[Any, ...]) -> str:
    """('compartments', 3, 'size') -> 'compartments[3].size'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _expected(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        expected = "a known key (" + ", ".join(_known_keys(model, error["loc"])) + ")"
        if len(error["loc"]) > 1 and error["loc"][-1] in model.model_fields:
            # The classic TOML slip: a key written below a [table] header
            # belongs to that table, not to the top level.
            expected += "; top-level keys must come before the first [table] header"
        return expected
    if kind == "missing":
        return "a value (the key is required)"
    message: str = error["msg"]
    for prefix in ("Input should be ", "Value error, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if message.startswith(("greater", "less")):
        message = "a number " + message
    return message


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model that holds the unknown key at `loc`."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            break
        current = _model_in(field.annotation) or current
    return sorted(current.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside `Model`, `list[Model]`, `tuple[Model, ...]` or `Model | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
