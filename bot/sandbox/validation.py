"""Strict checking of a submit body against its model's schema, as a picky real service would.

The bot's own `ModelSpec.validate` is lenient on purpose (it trims, turns "5" into 5, drops a -1
seed). The sandbox must not be: a body is accepted only if `validate` accepts it and would send
it unchanged apart from filling defaults, so a client that forgets to normalize fails its tests.
Media fields take any http(s) URL; the sandbox does not fetch them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.model_meta import field_kind
from bot.core.schema import ModelSpec

Detail = dict[str, Any]


def check_body(spec: ModelSpec, raw: object) -> list[Detail]:
    """FastAPI-style `detail` entries for everything wrong with `raw`; empty when acceptable."""
    if not isinstance(raw, dict):
        return [{"loc": ["body"], "msg": "Input should be a JSON object", "type": "dict_type"}]
    problems: list[Detail] = []
    for name in raw:
        if name not in spec.properties:
            problems.append(_detail(name, "Extra inputs are not permitted", "extra_forbidden"))
    for name in sorted(spec.required - raw.keys()):
        problems.append(_detail(name, "Field required", "missing"))
    for name, value in raw.items():
        if name in spec.properties:
            message = _check_field(spec, name, value)
            if message is not None:
                problems.append(_detail(name, message, "value_error"))
    return problems


def _check_field(spec: ModelSpec, name: str, value: object) -> str | None:
    # Judge one field at a time inside an otherwise valid body, so each message has its `loc`.
    probe = {**_filler(spec), name: value}
    result = spec.validate(probe)
    if isinstance(result, list):
        return " ".join(result)
    sent = result.params.get(name)
    if sent is not None and type(sent) is type(value) and sent == value:
        return None
    return _why_changed(spec.properties[name], value)


def _why_changed(prop: Mapping[str, Any], value: object) -> str:
    if value is None:
        return "Input should not be null"
    expected = {"string": str, "integer": int, "boolean": bool}.get(str(prop.get("type")))
    if expected is not None and type(value) is not expected:
        return f"Input should be a valid {prop.get('type')}"
    if isinstance(value, str):
        return "Input should not be blank or have leading or trailing whitespace"
    return "Input is outside the accepted range"


def _filler(spec: ModelSpec) -> dict[str, object]:
    """A minimal valid body: a plausible value for each required field."""
    body: dict[str, object] = {}
    for name in spec.required:
        kind, enum = field_kind(spec.properties[name]), spec.enum(name)
        if enum:
            body[name] = enum[0]
        elif kind == "integer":
            low, high = spec.bounds(name)
            body[name] = low if low is not None else 1 if high is None or high >= 1 else high
        else:
            fillers = {"image": "https://sandbox.invalid/image.png", "boolean": False}
            body[name] = fillers.get(str(kind), "sandbox")
    return body


def _detail(name: str, message: str, kind: str) -> Detail:
    return {"loc": ["body", name], "msg": message, "type": kind}
