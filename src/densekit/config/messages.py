"""One paragraph for a configuration that does not validate: the first few problems, each
with its key, the value received (bounded in length) and what is allowed."""

from __future__ import annotations

import re
import reprlib
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from densekit.errors import did_you_mean

MAX_ERRORS = 8  # one paragraph: the first few problems, and how many more


def format_errors(err: ValidationError, root: type[BaseModel]) -> str:
    """root: the configuration's model, whose keys an unknown key is compared with."""
    errors = most_specific(err.errors())
    lines = [format_one(e, root) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        lines.append(f"({len(errors) - MAX_ERRORS} more problems not shown.)")
    return "Invalid configuration: " + " ".join(lines)


def most_specific(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One error per key: a Union reports one error per branch, and only one helps."""
    keyed = [(key_of(e), e) for e in errors]
    keys = [k for k, _ in keyed]
    kept: dict[str, dict[str, Any]] = {}
    for key, error in keyed:
        deeper = any(other.startswith(key + ".") for other in keys)
        if not deeper and key not in kept:
            kept[key] = error
    return list(kept.values())


def key_of(error: dict[str, Any]) -> str:
    # Union branches add tags such as 'literal[...]' or 'dict[str,float]' to the location.
    return ".".join(str(p) for p in error["loc"] if not re.match(r"^\w+\[", str(p)))


def format_one(error: dict[str, Any], root: type[BaseModel]) -> str:
    loc = (key_of(error) or "(top level)").split(".")
    key = clip(".".join(loc), 120)  # a key, too, is text the user sent
    received = error.get("input")
    if error["type"] == "extra_forbidden":
        parent = ".".join(loc[:-1])
        allowed = known_keys(root, parent)
        return (f"unknown key '{key}' (received {short(received)}). Allowed keys"
                f"{' in ' + parent if parent else ''}: {', '.join(allowed)}."
                f"{did_you_mean(loc[-1][:100], allowed)}")
    reason = clip(error["msg"].removeprefix("Value error, "), 600)
    if error["type"] == "value_error" and isinstance(received, dict):
        return f"in '{key}': {reason}."  # a rule across keys: the message names them
    message = f"key '{key}' received {short(received)}: {reason}."
    expected = literal_choices(error)
    if expected and isinstance(received, str):
        message += did_you_mean(received[:100], expected)  # difflib time grows with the length
    return message


BOUNDED = reprlib.Repr()  # keyword arguments arrive only in Python 3.12
BOUNDED.maxlevel, BOUNDED.maxstring, BOUNDED.maxother, BOUNDED.maxlong = 3, 120, 120, 60
BOUNDED.maxdict = BOUNDED.maxlist = BOUNDED.maxtuple = BOUNDED.maxset = 8


def short(value: Any) -> str:
    """repr of a received value, bounded in the work done and in length: a message must
    stay one paragraph whatever was received."""
    return clip(BOUNDED.repr(value), 200)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def literal_choices(error: dict[str, Any]) -> list[str]:
    expected = (error.get("ctx") or {}).get("expected", "")
    return [part.strip(" '") for part in expected.replace(" or ", ",").split(",") if part.strip()]


def known_keys(root: type[BaseModel], section: str) -> list[str]:
    model = root
    for part in filter(None, section.split(".")):
        annotation = model.model_fields[part].annotation
        model = next(a for a in (annotation, *get_args(annotation))
                     if isinstance(a, type) and issubclass(a, BaseModel))
    return list(model.model_fields)
