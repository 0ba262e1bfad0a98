"""The model as data: options, enums, defaults and limits come from the shipped input schema.

Nothing else in the project retypes an enum. `validate()` is the one gate between raw options
(a slash command, the demo's argv, a modified Discord client) and what is sent to RunComfy; it
normalises every string option (`bot.core.text.normalize_text`), so what is screened is what is
sent.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bot.core.text import mostly_invisible, normalize_text

SCHEMA_FILE = "seedance-1-0-pro-fast-t2v.input.json"
PROMPT_FIELD = "text"
# No range is published for the seed; Seedance's native API takes an unsigned 32-bit seed, and -1
# for "random", which we send as no seed at all.
SEED_FIELD = "seed"
SEED_MIN, SEED_MAX = 0, 2**32 - 1

OptionValue = str | int


@dataclass(frozen=True)
class VideoRequest:
    """A validated, normalized request: every value is inside the schema."""

    model_path: str
    params: Mapping[str, OptionValue]

    @property
    def prompt(self) -> str:
        return str(self.params[PROMPT_FIELD])

    @property
    def resolution(self) -> str:
        return str(self.params["resolution"])

    @property
    def duration(self) -> int:
        return int(self.params["duration"])

    @property
    def seed(self) -> int | None:
        seed = self.params.get(SEED_FIELD)
        return None if seed is None else int(seed)

    def payload(self) -> dict[str, OptionValue]:
        """The JSON body for the submit call."""
        return dict(self.params)


class ModelSpec:
    """One model's input schema, read from its JSON file."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.title: str = schema.get("title", "model")
        self.path: str = schema["x-model-path"]
        self.properties: Mapping[str, Mapping[str, Any]] = schema["properties"]
        self.required: frozenset[str] = frozenset(schema.get("required", ()))

    @classmethod
    def load(cls, name: str = SCHEMA_FILE) -> ModelSpec:
        text = resources.files("bot.models").joinpath(name).read_text(encoding="utf-8")
        return cls(json.loads(text))

    def enum(self, name: str) -> tuple[OptionValue, ...]:
        return tuple(self.properties[name].get("enum", ()))

    def default(self, name: str) -> OptionValue | None:
        value = self.properties[name].get("default")
        return value if isinstance(value, str | int) else None

    def max_length(self, name: str) -> int | None:
        value = self.properties[name].get("maxLength")
        return int(value) if value is not None else None

    def label(self, name: str) -> str:
        return str(self.properties[name].get("title", name))

    def validate(self, raw: Mapping[str, object]) -> VideoRequest | list[str]:
        """Turn raw options into a normalized request, or human-readable reasons why not."""
        errors: list[str] = []
        params: dict[str, OptionValue] = {}
        for name in raw:
            if name not in self.properties:
                errors.append(f"`{_shorten(name)}` is not an option of this command.")
        for name, prop in self.properties.items():
            value = raw.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if name in self.required:
                    errors.append(f"{self.label(name)} is required: {_hint(prop)}")
                elif (default := self.default(name)) is not None:
                    params[name] = default
                continue
            checked = self._check(name, prop, value)
            if isinstance(checked, _Problem):
                errors.append(checked.text)
            elif checked is not None:
                params[name] = checked
        if errors:
            return errors
        return VideoRequest(self.path, params)

    def _check(
        self, name: str, prop: Mapping[str, Any], value: object
    ) -> OptionValue | _Problem | None:
        label = self.label(name)
        if prop.get("type") == "string":
            return self._check_string(name, label, value)
        if prop.get("type") == "integer":
            number = _as_int(value)
            if number is None:
                return _Problem(f"{label} must be a whole number.")
            if name == SEED_FIELD:
                if number == -1:
                    return None
                if not SEED_MIN <= number <= SEED_MAX:
                    return _Problem(
                        f"{label} must be a whole number from {SEED_MIN} to {SEED_MAX} "
                        "(leave it out for a random one)."
                    )
            return self._in_enum(name, label, number)
        return _Problem(f"{label} has a type this bot does not support.")

    def _check_string(self, name: str, label: str, value: object) -> str | _Problem:
        if not isinstance(value, str):
            return _Problem(f"{label} must be text.")
        typed = value.strip()
        if any(_is_forbidden_char(c) for c in typed):
            return _Problem(
                f"{label} contains control or invalid characters; retype it as plain text."
            )
        # What is screened, stored and sent is the normalised text; hidden characters would
        # otherwise split a blocked word (see bot.core.text).
        text = normalize_text(typed).strip()
        # Judged on the typed text (what padding looks like) and on the result, so that
        # validating a payload again gives the same answer.
        if mostly_invisible(typed) or mostly_invisible(text):
            return _Problem(f"{label} is mostly invisible characters; retype it as plain text.")
        limit = self.max_length(name)
        if limit is not None and len(text) > limit:
            return _Problem(
                f"{label} is {len(text)} characters long; the limit is {limit}. "
                f"Shorten it by {len(text) - limit}."
            )
        checked = self._in_enum(name, label, text)
        return checked if isinstance(checked, _Problem) else text

    def _in_enum(self, name: str, label: str, value: OptionValue) -> OptionValue | _Problem:
        allowed = self.enum(name)
        if allowed and value not in allowed:
            huge = isinstance(value, int) and abs(value) > 10**20
            shown = "a very large number" if huge else _shorten(str(value))
            return _Problem(f"{label} must be {_describe(allowed)} (got `{shown}`).")
        return value


@dataclass(frozen=True)
class _Problem:
    text: str


def _hint(prop: Mapping[str, Any]) -> str:
    return str(prop.get("description", "give it a value."))


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # Plain ASCII digits of sane length only: int() would take "²", "1_000" or 5,000 digits.
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value.strip()):
        return int(value.strip())
    return None


def _is_forbidden_char(char: str) -> bool:
    # Newlines are fine in a prompt; other control codes and lone surrogates are not.
    return char != "\n" and unicodedata.category(char) in ("Cc", "Cs")


def _describe(allowed: tuple[OptionValue, ...]) -> str:
    if all(isinstance(v, int) for v in allowed) and len(allowed) > 3:
        ints = sorted(int(v) for v in allowed)
        if ints == list(range(ints[0], ints[-1] + 1)):
            return f"from {ints[0]} to {ints[-1]}"
    return "one of " + ", ".join(str(v) for v in allowed)


def _shorten(text: str, limit: int = 40) -> str:
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


MODEL = ModelSpec.load()
