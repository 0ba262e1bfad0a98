"""The model as data: one validator for every video model's input schema (see bot.core.catalog).

`validate()` is the one gate between values keyed by schema field and what is sent to RunComfy;
`from_options()` takes slash options, maps them onto the fields and checks attachments first.
Strings are normalised (`bot.core.text`): what is screened is what is sent. `summary()`,
`seconds()` and `credits()` read validated params back for cards and quotas.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import urlsplit

from bot.core.model_meta import MODEL_OPTION, MediaInput, ModelMeta, field_kind, load_pair, shorten
from bot.core.text import mostly_invisible, normalize_text

SCHEMA_FILE = "seedance-1-0-pro-fast-t2v.input.json"
DEFAULT_KEY = SCHEMA_FILE.removesuffix(".input.json")
PROMPT_FIELD = "text"
SEED_FIELD = "seed"  # Seedance 1.0's; its meta file says why it is bounded so, and what -1 is
SEED_MIN, SEED_MAX = 0, 2**32 - 1
MAX_URL = 2048
_FLAGS = dict.fromkeys(("true", "on", "yes"), True) | dict.fromkeys(("false", "off", "no"), False)

OptionValue = str | int  # bool is an int


@dataclass(frozen=True)
class VideoRequest:
    """A validated, normalized request: every value is inside its model's schema."""

    model_path: str
    params: Mapping[str, OptionValue]
    model_key: str = DEFAULT_KEY
    prompt_key: str = PROMPT_FIELD
    resolution_key: str | None = "resolution"
    seed_key: str | None = SEED_FIELD
    seconds: int | None = None
    """What the video's length is priced as (`ModelSpec.seconds`)."""
    seed_by_bot: bool = False
    """The seed was picked by the bot (Again), so Again picks a new one."""

    @property
    def prompt(self) -> str:
        return str(self.params[self.prompt_key])

    @property
    def resolution(self) -> str:
        """The resolution sent, or "" for a model whose resolution is part of its id."""
        value = self.params.get(self.resolution_key or "")
        return "" if value is None else str(value)

    @property
    def duration(self) -> int:
        return self.seconds if self.seconds is not None else int(self.params["duration"])

    @property
    def seed(self) -> int | None:
        seed = self.params.get(self.seed_key or "")
        return None if seed is None else int(seed)

    def payload(self) -> dict[str, OptionValue]:
        """The JSON body for the submit call."""
        return dict(self.params)


class ModelSpec:
    """One model: its input schema and its meta file."""

    def __init__(self, key: str, schema: Mapping[str, Any], meta: ModelMeta) -> None:
        self.key = key
        self.meta = meta
        self.display_name = meta.display_name
        self.title: str = str(schema.get("title", meta.display_name))
        self.path: str = meta.model_id
        self.properties: Mapping[str, Mapping[str, Any]] = schema["properties"]
        self.required: frozenset[str] = frozenset(schema.get("required", ()))
        self.prompt_key = meta.prompt_key
        self.options: Mapping[str, str] = {opt: key for key, opt in meta.options.items()}
        """Slash option name -> schema field, for every field this model takes."""

    @classmethod
    def load(cls, name: str = SCHEMA_FILE, folder: Traversable | None = None) -> ModelSpec:
        """One model from `folder` (default: the shipped `bot/models`), by its schema's name."""
        key = name.removesuffix(".input.json")
        schema, meta = load_pair(folder or resources.files("bot.models"), key)
        return cls(key, schema, meta)

    def enum(self, name: str) -> tuple[OptionValue, ...]:
        return tuple(self.properties[name].get("enum", ()))

    def default(self, name: str) -> OptionValue | None:
        value = self.properties[name].get("default")
        return value if isinstance(value, str | int) else None

    def max_length(self, name: str) -> int | None:
        value = self.properties[name].get("maxLength")
        return int(value) if value is not None else None

    def bounds(self, name: str) -> tuple[int | None, int | None]:
        """An integer field's range: the schema's, else the meta's `seed_range` for the seed."""
        if name == self.meta.seed_key and self.meta.seed_range is not None:
            return self.meta.seed_range
        return self.properties[name].get("minimum"), self.properties[name].get("maximum")

    def label(self, name: str) -> str:
        """The schema's title, else the field's option name as words ("Generate audio")."""
        title = self.properties[name].get("title")
        if title is not None:
            return str(title)
        return self.meta.options.get(name, name).replace("_", " ").capitalize()

    # -- the gate -------------------------------------------------------------------------------
    def validate(self, raw: Mapping[str, object]) -> VideoRequest | list[str]:
        """Values keyed by schema field as a normalized request, or the reasons why not."""
        return self._validate(raw, frozenset())

    def from_options(self, options: Mapping[str, object]) -> VideoRequest | list[str]:
        """Slash options (None = not given; `model` is skipped) as a request, or why not.

        A `MediaInput` is checked against the meta's media rules and sent as its URL; an integer
        for a string enum ("5") and an enum value in another case ("720P") are matched."""
        problems: list[str] = []
        raw: dict[str, object] = {}
        refused: set[str] = set()
        for option, value in options.items():
            if value is None or option == MODEL_OPTION:
                continue
            key = self.options.get(option)
            if key is None:
                problems.append(
                    f"{self.display_name} has no {shorten(option)} option; leave it out, "
                    "or pick another model."
                )
                continue
            if isinstance(value, MediaInput):
                rule = self.meta.media.get(key)
                found = [f"{self.label(key)} takes a value, not a file."]
                if rule is not None:
                    found = rule.problems(value, option, self.display_name)
                if found:
                    problems += found
                    refused.add(key)
                    continue
                value = value.url
            raw[key] = self._coerce(key, value)
        result = self._validate(raw, frozenset(refused))
        if isinstance(result, list) or problems:
            return problems + (result if isinstance(result, list) else [])
        return result

    def _validate(
        self, raw: Mapping[str, object], refused: frozenset[str]
    ) -> VideoRequest | list[str]:
        errors: list[str] = []
        params: dict[str, OptionValue] = {}
        for name in raw:
            if name not in self.properties:
                errors.append(f"`{shorten(name)}` is not an option of this command.")
        for name, prop in self.properties.items():
            value = raw.get(name)
            if name in refused:
                continue
            if value is None or (isinstance(value, str) and not value.strip()):
                if name in self.required:
                    errors.append(self._missing(name, prop))
                # A seed left out stays out: the provider then picks one (a default 0 might not).
                elif name != self.meta.seed_key and (default := self.default(name)) is not None:
                    params[name] = default
                continue
            checked = self._check(name, prop, value)
            if isinstance(checked, _Problem):
                errors.append(checked.text)
            elif checked is not None:
                params[name] = checked
        if errors:
            return errors
        m = self.meta
        seconds = self.seconds(params)
        return VideoRequest(
            self.path, params, self.key, m.prompt_key, m.resolution_key, m.seed_key, seconds
        )

    def _missing(self, name: str, prop: Mapping[str, Any]) -> str:
        if field_kind(prop) == "image":
            option = self.meta.options.get(name, name)
            return f"{self.display_name} needs an image: attach one with the {option} option."
        hint = self.meta.descriptions.get(name) or str(prop.get("description", ""))
        hint = hint if 0 < len(hint) <= 80 else "give it a value."
        return f"{self.label(name)} is required: {hint}"

    def _coerce(self, key: str, value: object) -> object:
        allowed = self.enum(key)
        if not allowed or isinstance(value, bool):
            return value
        if isinstance(value, int) and self.properties[key].get("type") == "string":
            return str(value)
        if isinstance(value, str):
            folded = normalize_text(value).strip().casefold()
            for choice in allowed:
                if str(choice).casefold() == folded:
                    return choice
        return value

    def _check(
        self, name: str, prop: Mapping[str, Any], value: object
    ) -> OptionValue | _Problem | None:
        label = self.label(name)
        kind = field_kind(prop)
        if kind == "image":
            return _check_url(label, value)
        if kind == "string":
            return self._check_string(name, label, value)
        if kind == "boolean":
            flag = _as_bool(value)
            return _Problem(f"{label} must be true or false.") if flag is None else flag
        if kind == "integer":
            number = _as_int(value)
            if number is None:
                return _Problem(f"{label} must be a whole number.")
            low, high = self.bounds(name)
            inside = (low is None or number >= low) and (high is None or number <= high)
            is_seed = name == self.meta.seed_key
            if is_seed and number == self.meta.random_seed and not inside:
                return None  # "random", said by sending no seed
            if not inside:
                hint = " (leave it out for a random one)." if is_seed else f" (got `{number}`)."
                return _Problem(f"{label} must be a whole number {_span(low, high)}{hint}")
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
            return _Problem(f"{label} must be {_describe(allowed)} (got `{_shown(value)}`).")
        return value

    # -- reading a request back -----------------------------------------------------------------
    def seconds(self, params: Mapping[str, object]) -> int:
        """How long the video is priced as: the duration, `auto_seconds` for a word like "auto"
        or a duration left out, `fixed_seconds` for a model without a duration field."""
        m = self.meta
        if m.duration_key is None:
            return m.fixed_seconds or 0
        number = _as_int(params.get(m.duration_key))
        if number is not None:
            return number
        if m.auto_seconds is not None:
            return m.auto_seconds
        allowed = [n for n in map(_as_int, self.enum(m.duration_key)) if n is not None]
        return max(allowed or [int(self.bounds(m.duration_key)[1] or 0)])

    def resolution_weight(
        self, params: Mapping[str, object], override: Mapping[str, int] | None = None
    ) -> int:
        """The resolution's weight (case-insensitive), the override's first; 1 without one."""
        key, weights = self.meta.resolution_key, self.meta.resolution_weights
        if key is None or not weights:
            return 1
        value = str(params.get(key, "")).casefold()
        for table in (override or {}, weights):
            for name, weight in table.items():
                if name.casefold() == value:
                    return weight
        return max(weights.values())

    def credits(
        self,
        params: Mapping[str, object],
        resolution_weights_override: Mapping[str, int] | None = None,
        model_weight_override: int | None = None,
    ) -> int:
        """Seconds x credits per second x the resolution's weight."""
        weight = self.resolution_weight(params, resolution_weights_override)
        given = model_weight_override
        per_second = self.meta.credits_per_second if given is None else given
        return self.seconds(params) * per_second * weight

    def summary(self, params: Mapping[str, object]) -> str:
        """The card's one line of options, e.g. "720p · 16:9 · 5 s · seed 42 · audio on"."""
        m = self.meta
        parts: list[str] = []
        if m.resolution_key and params.get(m.resolution_key) is not None:
            parts.append(str(params[m.resolution_key]))
        if m.aspect_key and params.get(m.aspect_key) is not None:
            ratio = str(params[m.aspect_key])
            parts.append(ratio if ":" in ratio else f"ratio {ratio}")
        duration = params.get(m.duration_key or "")
        if duration is not None:
            number = _as_int(duration)
            parts.append(f"{duration} length" if number is None else f"{number} s")
        if m.seed_key:
            seed = params.get(m.seed_key)
            parts.append(f"seed {seed}" if seed not in (None, m.random_seed) else "seed random")
        roles = {m.prompt_key, m.resolution_key, m.aspect_key, m.duration_key, m.seed_key}
        for key, prop in self.properties.items():
            if key in roles or params.get(key) is None:
                continue
            kind, value = field_kind(prop), params[key]
            words = re.sub(r"^(generate|enable)_", "", m.options.get(key, key)).replace("_", " ")
            if kind == "boolean":
                parts.append(f"{words} {'on' if value else 'off'}")
            elif kind == "integer" or (kind == "string" and self.enum(key)):
                parts.append(f"{words} {value}")
        return " · ".join(parts)


@dataclass(frozen=True)
class _Problem:
    text: str


def _check_url(label: str, value: object) -> str | _Problem:
    url = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        parts = urlsplit("")
    clean = len(url) <= MAX_URL and not any(c.isspace() or _is_forbidden_char(c) for c in url)
    if clean and parts.scheme in ("http", "https") and parts.hostname:
        return url
    return _Problem(f"{label} must be an http or https link to the file.")


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # Plain ASCII digits of sane length only: int() would take "²", "1_000" or 5,000 digits.
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value.strip()):
        return int(value.strip())
    return None


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    return _FLAGS.get(value.strip().lower()) if isinstance(value, str) else None


def _is_forbidden_char(char: str) -> bool:
    # Newlines are fine in a prompt; other control codes and lone surrogates are not.
    return char != "\n" and unicodedata.category(char) in ("Cc", "Cs")


def _span(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"from {low} to {high}"
    return f"of at least {low}" if low is not None else f"of at most {high}"


def _describe(allowed: tuple[OptionValue, ...]) -> str:
    numbers = sorted(n for n in map(_as_int, allowed) if n is not None)
    words = [str(v) for v in allowed if _as_int(v) is None]
    if len(numbers) > 3 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        span = f"from {numbers[0]} to {numbers[-1]}"
        return span if not words else ", ".join(words) + f", or a number {span}"
    return "one of " + ", ".join(str(v) for v in allowed)


def _shown(value: OptionValue) -> str:
    huge = isinstance(value, int) and abs(value) > 10**20
    return "a very large number" if huge else shorten(str(value))


MODEL = ModelSpec.load()
"""Seedance 1.0 Pro Fast, the shipped default; new code asks `Catalog.default` instead."""
