"""Every video model the bot offers, loaded from `bot/models` at start: a schema and a meta file.

A model is two files named by its key (the file stem): RunComfy's input schema, copied verbatim
as `<key>.input.json`, and ours, `<key>.meta.json`, with what the bot needs and the schema cannot
say. Adding a model is adding those two files; no code changes. The meta fields:

- `model_id` (required unless the schema has `x-model-path`, which it must then equal): the
  RunComfy model path the job is submitted to, e.g. `wan-ai/wan-3.0/image-to-video`.
- `display_name` (required, one line, at most 100 characters): what members pick in `model`.
- `kind` (required): `text-to-video` or `image-to-video` (which then requires an image field).
- `default`: true on exactly one model, the one `/video` uses when no model is picked. A folder
  holding a single model may leave it out.
- `prompt_key` (required): the schema's prompt field (`text` or `prompt`); the option `prompt`.
- `aspect_key`, `resolution_key`, `duration_key`, `seed_key`: the fields with those roles, or
  null (or left out) when the model has none. The aspect field is always the option `ratio`.
  The roles drive the card's summary, the price and the seed's meaning; nothing is guessed from
  field names.
- `random_seed`: the seed that means "pick one at random" (-1 for Seedance 1.0, 0 for
  HappyHorse), or null. Inside the seed's range it is sent as is; outside, no seed is sent. A
  seed left out is never filled from the schema's default, so the provider picks one.
- `seed_range`: `[lowest, highest]` for a seed whose schema publishes no range.
- `options`: `{schema field: option name}` for fields whose option is not their own name
  (`{"image_url": "image", "enable_audio": "generate_audio"}`). Option names follow Discord's
  `[-_a-z0-9]{1,32}`; `model`, `prompt` and `ratio` are reserved. Models share an option by
  sharing its name, so `/video` has one `image` option for every image-to-video model.
- `credits_per_second` (required, a whole number): the model's price weight;
  Seedance 1.0 Pro Fast at 480p is the unit (1).
- `resolution_weights` (required with a `resolution_key`): `{resolution: weight}` covering each
  value of the resolution field (matched case-insensitively); the cost is seconds x
  credits_per_second x weight (x 1 for a model without a resolution field).
- `auto_seconds`: what a duration that is a word (FLUX's "auto") or left out is priced as.
- `fixed_seconds`: the price's seconds for a model without a duration field (then required).
- `media`: `{image field: rule}`, rule `{"types": ["image/png", ...] or ["image/*"],
  "max_bytes": int, "min_side": px, "max_aspect": long side / short side}`. Unlisted image fields
  take any image/* up to RunComfy's suggested 50 MB.
- `descriptions`: `{schema field: text}`, at most 90 characters: the option's description.
- `pricing_note`, `source` (provenance: where the schema was copied from), and any `*_note` or
  `$comment` field: for people, not read by the bot.

Only fields of a type the bot supports are offered and sent: strings (enums become choices),
integers (ranges), booleans, and `format: image_uri` strings (an attachment). An optional field
of another type (numbers, lists of files, video or audio inputs) is left to the provider's
default; a required one makes the model fail to load.

`Catalog.slash_options()` merges every model's fields into the option specs of one `/video`
command (plain values; the cog turns them into Discord options and adds `model` itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from bot.core.model_meta import PROMPT_OPTION, CatalogError, field_kind
from bot.core.schema import ModelSpec

__all__ = ["Catalog", "CatalogError", "SlashOption", "choice_label"]

OptionKind = Literal["string", "integer", "boolean", "image"]
MAX_OPTIONS, MAX_CHOICES, MAX_TEXT = 25, 25, 100  # Discord's limits
MAX_STRING = 6000  # Discord's longest string option
_SUFFIX = ".input.json"


@dataclass(frozen=True)
class SlashOption:
    """One option of `/video`, merged over every model that takes it."""

    name: str
    kind: OptionKind
    description: str
    models: tuple[str, ...]
    """Keys of the models that take it, in catalog order."""
    required: bool = False
    choices: tuple[tuple[str, str | int], ...] = ()
    """(label, value) pairs; empty when any value is allowed (or there would be over 25)."""
    min_value: int | None = None
    max_value: int | None = None
    min_length: int | None = None
    max_length: int | None = None


class Catalog:
    """The models, default first, then by display name."""

    def __init__(self, specs: Iterable[ModelSpec]) -> None:
        specs = list(specs)
        if not specs:
            raise CatalogError("no models: the folder has no *.input.json files")
        defaults = [s for s in specs if s.meta.default] or (specs if len(specs) == 1 else [])
        if len(defaults) != 1:
            names = ", ".join(f"{s.key}.meta.json" for s in defaults) or "none"
            raise CatalogError(f'exactly one model must say "default": true (found: {names})')
        self.default: ModelSpec = defaults[0]
        rest = sorted(
            (s for s in specs if s is not self.default),
            key=lambda s: (s.display_name.casefold(), s.key),
        )
        self._specs = (self.default, *rest)
        for what, value_of in (("model_id", _path), ("display_name", _name)):
            counts = Counter(value_of(s) for s in self._specs)
            twice = [s.key for s in self._specs if counts[value_of(s)] > 1]
            if twice:
                raise CatalogError(f"{', '.join(twice)} share a {what}; each needs its own")
        if len(self._specs) > MAX_CHOICES:
            raise CatalogError(f"{len(self._specs)} models; Discord's model picker takes 25")
        self._by_key = {s.key: s for s in self._specs}
        self._by_path = {s.path: s for s in self._specs}
        self._options = _merge(self._specs)

    @classmethod
    def load(cls, folder: Path | None = None, *, extra: Path | None = None) -> Catalog:
        """Every `<key>.input.json` with its `<key>.meta.json`, from `folder` or `bot/models`,
        and those of an `extra` folder beside them (an operator's own models)."""
        root: Traversable = folder if folder is not None else resources.files("bot.models")
        specs = _read(root) + (_read(extra) if extra is not None else [])
        keys = Counter(s.key for s in specs)
        if twice := sorted(k for k, n in keys.items() if n > 1):
            raise CatalogError(f"{', '.join(twice)}: a model of that name is already shipped")
        return cls(specs)

    @staticmethod
    @cache
    def shipped() -> Catalog:
        """The models in `bot/models`, loaded once."""
        return Catalog.load()

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def get(self, key: str) -> ModelSpec | None:
        return self._by_key.get(key)

    def by_path(self, model_path: str) -> ModelSpec | None:
        return self._by_path.get(model_path)

    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self._specs)

    def model_choices(self) -> tuple[tuple[str, str], ...]:
        """(display name, key) for the `model` option, default first."""
        return tuple((s.display_name, s.key) for s in self._specs)

    def slash_options(self) -> tuple[SlashOption, ...]:
        """Every option of `/video` but `model`: prompt, the default model's, then the rest."""
        return self._options


def _read(root: Traversable) -> list[ModelSpec]:
    names = sorted(p.name for p in root.iterdir() if p.is_file())
    for name in names:
        if name.endswith(".meta.json") and name.replace(".meta.", ".input.") not in names:
            raise CatalogError(f"{name} has no {name.replace('.meta.', '.input.')} beside it")
    return [ModelSpec.load(n, root) for n in names if n.endswith(_SUFFIX)]


def choice_label(value: str) -> str:
    """'9:16' reads better in the picker as '9:16 (portrait)'; other values stay as they are."""
    width, sep, height = value.partition(":")
    if not (sep and width.isdigit() and height.isdigit()):
        return value
    w, h = int(width), int(height)
    shape = "square" if w == h else "landscape" if w > h else "portrait"
    return f"{value} ({shape})"


def _path(spec: ModelSpec) -> str:
    return spec.path


def _name(spec: ModelSpec) -> str:
    return spec.display_name.casefold()


# -- merging every model's fields into one command ------------------------------------------------

_Field = tuple[ModelSpec, str]  # a model and one of its schema fields


def _merge(specs: tuple[ModelSpec, ...]) -> tuple[SlashOption, ...]:
    fields: dict[str, list[_Field]] = {PROMPT_OPTION: []}
    for spec in specs:
        for key in spec.properties:
            option = spec.meta.options.get(key)
            if option is not None:
                fields.setdefault(option, []).append((spec, key))
    if len(fields) + 1 > MAX_OPTIONS:  # the cog adds `model`
        raise CatalogError(
            f"the models have {len(fields)} options between them; with `model` Discord takes "
            f"{MAX_OPTIONS}: share option names in the meta files' `options`"
        )
    return tuple(_option(name, found, specs) for name, found in fields.items())


def _option(name: str, found: list[_Field], specs: tuple[ModelSpec, ...]) -> SlashOption:
    kinds = {field_kind(spec.properties[key]) for spec, key in found}
    models = tuple(spec.key for spec, _ in found)
    required = name == PROMPT_OPTION
    if kinds in ({"boolean"}, {"image"}):
        kind: OptionKind = "boolean" if kinds == {"boolean"} else "image"
        return SlashOption(name, kind, _described(found, specs, ""), models, required)
    if kinds == {"string"}:
        choices, longest = _strings(found)
        limits = [spec.max_length(key) for spec, key in found]
        suffix = ""
        if not choices and limits[0] is not None:
            where = "" if len(set(limits)) == 1 else f" on {found[0][0].display_name}"
            suffix = f" (up to {limits[0]} characters{where})"
        return SlashOption(
            name,
            "string",
            _described(found, specs, suffix),
            models,
            required,
            choices,
            min_length=1 if required and not choices else None,
            max_length=None if choices else longest,
        )
    numeric = all(
        any(_number(v) is not None for v in spec.enum(key))
        for spec, key in found
        if field_kind(spec.properties[key]) == "string"
    )
    if "integer" in kinds and kinds <= {"integer", "string"} and numeric:
        ints, low, high = _integers(found)
        seed = any(key == spec.meta.seed_key for spec, key in found)
        span = f", {low} to {high}" if None not in (low, high) and not seed else ""
        text = _described(found, specs, span)
        return SlashOption(name, "integer", text, models, required, ints, low, high)
    shown = ", ".join(f"{spec.key}: {field_kind(spec.properties[key])}" for spec, key in found)
    raise CatalogError(f"option `{name}` has different types across models ({shown})")


_ROLES = (
    ("prompt_key", "What the video should show"),
    ("aspect_key", "Shape of the frame, width:height"),
    ("resolution_key", "Picture quality; higher costs more"),
    ("duration_key", "Length in seconds"),
    ("seed_key", "A number to reproduce a result; leave empty for a random one"),
)


def _described(found: list[_Field], specs: tuple[ModelSpec, ...], suffix: str) -> str:
    """What the option does first, then which models take it when not all, in 100 chars."""
    text = _description(found, specs[0], suffix)
    takers = [spec for spec, _ in found]
    if len(takers) == len(specs):
        return _clip(text)
    kinds = {spec.meta.kind for spec in takers}
    if len(kinds) == 1 and all(s in takers for s in specs if s.meta.kind in kinds):
        return _clip(f"{text}; {kinds.pop()} models only")
    only = "only " + ", ".join(s.display_name for s in takers)
    not_on = "not on " + ", ".join(s.display_name for s in specs if s not in takers)
    best = f"{text}; {min(only, not_on, key=len)}"
    return best if len(best) <= MAX_TEXT else _clip(f"{text}; not every model has it")


def _description(found: list[_Field], default_model: ModelSpec, suffix: str) -> str:
    """The meta's description most models share, else one for the field's role, else the
    schema's title or the field's name; with the default model's default when it has one."""
    given = Counter(s.meta.descriptions[k] for s, k in found if k in s.meta.descriptions)
    spec, key = found[0]
    if given:
        text = given.most_common(1)[0][0]
        suffix = ""  # a description written for the option says what it needs to
    else:
        roles = [text for attr, text in _ROLES if getattr(spec.meta, attr) == key]
        title = spec.properties[key].get("title")
        text = roles[0] if roles else str(title or spec.meta.options[key].replace("_", " "))
    default = spec.default(key) if spec is default_model else None
    if default not in (None, "") and key != spec.meta.seed_key and "default" not in text:
        shown = ("on" if default else "off") if isinstance(default, bool) else default
        suffix += f" (default {shown})"
    return text[:1].upper() + text[1:] + suffix


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _strings(found: list[_Field]) -> tuple[tuple[tuple[str, str | int], ...], int]:
    values: dict[str, str] = {}
    for spec, key in found:
        for value in map(str, spec.enum(key)):
            values.setdefault(value.casefold(), value)  # "720p" and "720P" are one choice
    longest = min(max(spec.max_length(key) or MAX_STRING for spec, key in found), MAX_STRING)
    if all(spec.enum(key) for spec, key in found) and len(values) <= MAX_CHOICES:
        return tuple((choice_label(v)[:MAX_TEXT], v[:MAX_TEXT]) for v in values.values()), longest
    return (), longest


def _integers(
    found: list[_Field],
) -> tuple[tuple[tuple[str, str | int], ...], int | None, int | None]:
    """Choices for a small set of values with gaps; else the range covering every model's."""
    lows: list[int | None] = []
    highs: list[int | None] = []
    finite: set[int] = set()
    ranged = False
    for spec, key in found:
        numbers = [n for n in map(_number, spec.enum(key)) if n is not None]
        if numbers:
            finite.update(numbers)
            lows.append(min(numbers))
            highs.append(max(numbers))
        else:
            ranged = True
            low, high = spec.bounds(key)
            lows.append(low)
            highs.append(high)
    ordered = sorted(finite)
    gaps = ordered != list(range(ordered[0], ordered[-1] + 1)) if ordered else False
    if not ranged and gaps and len(ordered) <= MAX_CHOICES:
        return tuple((str(n), n) for n in ordered), None, None
    low = None if None in lows else min(n for n in lows if n is not None)
    high = None if None in highs else max(n for n in highs if n is not None)
    return (), low, high


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None
