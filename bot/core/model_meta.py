"""What the bot knows about a video model beyond its input schema: the meta file and media rules.

`load_pair` reads `<key>.input.json` and `<key>.meta.json` (fields documented in bot.core.catalog)
and raises `CatalogError`, naming the file, for anything the bot cannot use. `MediaRule.problems`
checks an attachment (`MediaInput`) before anything is charged: type, size, pixels and shape.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib.resources.abc import Traversable
from typing import Any, Literal

Kind = Literal["text-to-video", "image-to-video"]
KINDS: tuple[str, ...] = ("text-to-video", "image-to-video")
FieldKind = Literal["string", "integer", "boolean", "image"]
OPTION_NAME = re.compile(r"[-_a-z0-9]{1,32}")  # Discord's rule for option names, lowercase
PROMPT_OPTION, ASPECT_OPTION, MODEL_OPTION = "prompt", "ratio", "model"
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)+")
_OTHER_MEDIA = frozenset({"image_uris", "video_uri", "video_uris", "audio_uri", "audio_uris"})
_MIME = re.compile(r"[a-z]+/([-+.a-z0-9]+|\*)")
_TYPE_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
IMAGE_BYTES = 50_000_000  # RunComfy's suggested limit for input images


class CatalogError(ValueError):
    """A model file the bot cannot use; the message names the file."""


@dataclass(frozen=True)
class MediaInput:
    """A file a member attached: `url` is what is sent to RunComfy; the rest is checked first."""

    url: str
    content_type: str | None
    size: int
    width: int | None
    height: int | None
    filename: str


@dataclass(frozen=True)
class MediaRule:
    """What one media field takes (from the meta file, else RunComfy's suggested limits)."""

    types: tuple[str, ...] = ("image/*",)
    max_bytes: int = IMAGE_BYTES
    min_side: int | None = None
    max_aspect: float | None = None
    """The long side over the short side, at most (2.5 allows 1:2.5 to 2.5:1)."""

    def problems(self, media: MediaInput, option: str, model: str) -> list[str]:
        """Why `model` cannot take this file as `option`, for the member; empty when it can."""
        shown, wanted = f"`{shorten(media.filename or 'the file')}`", self._types_text()
        kind = _content_type(media)
        if kind is None or not any(_type_matches(kind, t) for t in self.types):
            return [f"{shown} is not {wanted}; attach one with the {option} option."]
        problems = []
        if media.size > self.max_bytes:
            limit = _mb(self.max_bytes)
            problems.append(f"{shown} is {_mb(media.size)}; {model} takes files up to {limit}.")
        if self.min_side is None and self.max_aspect is None:
            return problems
        w, h = media.width or 0, media.height or 0
        if w <= 0 or h <= 0:
            return [*problems, f"I can't read the size of {shown}; attach {wanted} instead."]
        if self.min_side is not None and min(w, h) < self.min_side:
            problems.append(
                f"{shown} is {w}×{h} px; {model} needs at least {self.min_side} px on each side."
            )
        if self.max_aspect is not None and max(w, h) / min(w, h) > self.max_aspect:
            limit, shape = f"{self.max_aspect:g}", "wide" if w > h else "tall"
            problems.append(
                f"{shown} is {w}×{h} px, too {shape}; {model} takes shapes from 1:{limit} "
                f"to {limit}:1."
            )
        return problems

    def _types_text(self) -> str:
        if self.types == ("image/*",):
            return "an image"
        names = [_TYPE_NAMES.get(t, t.partition("/")[2].upper()) for t in self.types]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return f"a {listed.replace('*', 'any')} image"


@dataclass(frozen=True)
class ModelMeta:
    """One parsed meta file. `options` maps every field the bot can send to its option name."""

    model_id: str
    display_name: str
    kind: Kind
    prompt_key: str
    options: Mapping[str, str]
    credits_per_second: int
    default: bool = False
    aspect_key: str | None = None
    resolution_key: str | None = None
    duration_key: str | None = None
    seed_key: str | None = None
    random_seed: int | None = None
    seed_range: tuple[int, int] | None = None
    resolution_weights: Mapping[str, int] = field(default_factory=dict)
    auto_seconds: int | None = None
    fixed_seconds: int | None = None
    media: Mapping[str, MediaRule] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    pricing_note: str = ""
    source: Mapping[str, Any] = field(default_factory=dict)


_KNOWN = frozenset(f.name for f in fields(ModelMeta))  # the meta file's fields are these


def field_kind(prop: Mapping[str, Any]) -> FieldKind | None:
    """How the bot offers a schema field, or None for a type it does not support."""
    kind, fmt = prop.get("type"), prop.get("format")
    if kind == "string":
        return "image" if fmt == "image_uri" else None if fmt in _OTHER_MEDIA else "string"
    return "integer" if kind == "integer" else "boolean" if kind == "boolean" else None


def load_pair(root: Traversable, key: str) -> tuple[dict[str, Any], ModelMeta]:
    """Read and check `<key>.input.json` and `<key>.meta.json` from a folder."""
    schema_name, meta_name = f"{key}.input.json", f"{key}.meta.json"
    schema = _read(root, schema_name)
    problems = schema_problems(schema)
    if problems:
        raise CatalogError(f"{schema_name}: " + "; ".join(problems))
    if not root.joinpath(meta_name).is_file():
        raise CatalogError(f"{schema_name} has no {meta_name} beside it")
    return schema, parse_meta(_read(root, meta_name), schema, meta_name)


def _read(root: Traversable, name: str) -> dict[str, Any]:
    try:
        data = json.loads(root.joinpath(name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CatalogError(f"{name}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{name}: must be a JSON object")
    return data


def schema_problems(schema: Mapping[str, Any]) -> list[str]:
    props = schema.get("properties")
    if not isinstance(props, dict) or not props:
        return ["needs a `properties` object"]
    if not all(isinstance(p, dict) for p in props.values()):
        return ["every property must be an object"]
    required = schema.get("required", [])
    if not isinstance(required, list) or not set(required) <= set(props):
        return ["`required` must list properties of the schema"]
    unsupported = [n for n in required if field_kind(props[n]) is None]
    return [f"`{n}` is required but its type is not one the bot supports" for n in unsupported]


def parse_meta(data: Mapping[str, Any], schema: Mapping[str, Any], where: str) -> ModelMeta:
    """A checked `ModelMeta`, or `CatalogError` listing every problem, prefixed with `where`."""
    r = _Reader(data, schema["properties"])
    for name in data:
        if name not in _KNOWN and not name.endswith("_note") and not name.startswith("$"):
            r.problems.append(f"unknown field `{shorten(name)}`")
    model_id = r.text("model_id", required="x-model-path" not in schema)
    path = schema.get("x-model-path")
    if path is not None and model_id is not None and path != model_id:
        r.problems.append(f"model_id {model_id!r} differs from the schema's x-model-path")
    model_id = model_id or str(path or "")
    if model_id and not _MODEL_ID.fullmatch(model_id):
        r.problems.append(f"model_id {model_id!r} is not a model path like owner/model/variant")
    display_name = r.text("display_name", required=True) or ""
    if len(display_name) > 100 or display_name != " ".join(display_name.split()):
        r.problems.append("display_name must be one line of at most 100 characters")
    kind = r.text("kind", required=True)
    if kind is not None and kind not in KINDS:
        r.problems.append(f"kind must be one of {', '.join(KINDS)}")
    prompt_key = r.key("prompt_key", ("string",), required=True)
    aspect_key = r.key("aspect_key", ("string",), enum=True)
    resolution_key = r.key("resolution_key", ("string",), enum=True)
    seed_key = r.key("seed_key", ("integer",))
    options = r.options({prompt_key: PROMPT_OPTION, aspect_key: ASPECT_OPTION})
    media = r.media()
    required_media = [k for k in media if k in schema.get("required", ())]
    if kind in KINDS and (kind == "image-to-video") != bool(required_media):
        r.problems.append("an image-to-video model, and only one, needs a required image field")
    meta = ModelMeta(
        model_id=model_id,
        display_name=display_name,
        kind="image-to-video" if kind == "image-to-video" else "text-to-video",
        options=options,
        credits_per_second=r.integer("credits_per_second", 0, required=True) or 0,
        default=r.boolean("default"),
        random_seed=r.integer("random_seed", None),
        seed_range=r.seed_range(seed_key),
        resolution_weights=r.weights(resolution_key),
        auto_seconds=r.integer("auto_seconds", 1),
        fixed_seconds=r.integer("fixed_seconds", 1),
        media=media,
        descriptions=r.descriptions(),
        pricing_note=r.text("pricing_note") or "",
        source=r.mapping("source"),
        prompt_key=prompt_key or "",
        aspect_key=aspect_key,
        resolution_key=resolution_key,
        duration_key=r.key("duration_key", ("integer", "string")),
        seed_key=seed_key,
    )
    r.check_roles(meta)
    if r.problems:
        raise CatalogError(f"{where}: " + "; ".join(r.problems))
    return meta


class _Reader:
    """Typed reads of one meta file that collect problems instead of stopping at the first."""

    def __init__(self, data: Mapping[str, Any], props: Mapping[str, Mapping[str, Any]]) -> None:
        self.data, self.props = data, props
        self.problems: list[str] = []

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"{name} must be a non-empty string")
            return None
        return value

    def integer(self, name: str, minimum: int | None, *, required: bool = False) -> int | None:
        value = self.data.get(name)
        if value is None and not required:
            return None
        if type(value) is not int or (minimum is not None and value < minimum):
            bound = "" if minimum is None else f" of at least {minimum}"
            self.problems.append(f"{name} must be a whole number{bound}")
            return None
        return value

    def boolean(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            self.problems.append(f"{name} must be true or false")
        return value is True

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            self.problems.append(f"{name} must be an object")
            return {}
        return value

    def key(
        self, name: str, kinds: tuple[str, ...], *, required: bool = False, enum: bool = False
    ) -> str | None:
        value = self.data.get(name)
        if value is None and not required:
            return None
        prop = self.props.get(value) if isinstance(value, str) else None
        if prop is None or field_kind(prop) not in kinds or (enum and not prop.get("enum")):
            wanted = " or ".join(kinds) + (" enum" if enum else "")
            self.problems.append(f"{name} must name a field of the schema of type {wanted}")
            return None
        return str(value)

    def options(self, roles: Mapping[str | None, str]) -> dict[str, str]:
        renamed = self.mapping("options")
        for key, option in renamed.items():
            if key not in self.props or key in roles:
                self.problems.append(f"options: `{shorten(key)}` is not a field to rename")
            elif option in (PROMPT_OPTION, ASPECT_OPTION, MODEL_OPTION):
                self.problems.append(f"options: `{option}` is reserved")
        named: dict[str, str] = {}
        for key, prop in self.props.items():
            if field_kind(prop) is None:
                continue  # not offered and never sent (the provider's default applies)
            option = roles.get(key) or renamed.get(key) or key
            if not isinstance(option, str) or not OPTION_NAME.fullmatch(option):
                self.problems.append(
                    f"field `{shorten(key)}` needs an option name matching [-_a-z0-9]{{1,32}}: "
                    "add it to options"
                )
            elif option in named.values() or option == MODEL_OPTION:
                self.problems.append(f"two fields would both be the option `{option}`")
            else:
                named[key] = option
        return named

    def media(self) -> dict[str, MediaRule]:
        given = self.mapping("media")
        rules: dict[str, MediaRule] = {}
        for key, prop in self.props.items():
            if field_kind(prop) == "image":
                rules[key] = self._rule(key, given.get(key, {}))
        for key in given.keys() - rules.keys():
            self.problems.append(f"media: `{shorten(key)}` is not an image_uri field")
        return rules

    def _rule(self, key: str, raw: Any) -> MediaRule:
        given: dict[str, Any] = raw if isinstance(raw, dict) else {"": None}
        types, aspect = given.get("types", ["image/*"]), given.get("max_aspect", 1)
        sizes = [given.get(n, 1) for n in ("max_bytes", "min_side")]
        if not (
            given.keys() <= {"types", "max_bytes", "min_side", "max_aspect"}
            and isinstance(types, list)
            and types
            and all(isinstance(t, str) and _MIME.fullmatch(t) for t in types)
            and all(type(n) is int and n >= 1 for n in sizes)
            and type(aspect) in (int, float)
            and aspect >= 1
        ):
            self.problems.append(
                f"media.{shorten(key)} takes types (MIME types like image/png or image/*), "
                "max_bytes and min_side (whole numbers) and max_aspect (at least 1)"
            )
            return MediaRule()
        max_aspect = given.get("max_aspect")
        return MediaRule(
            tuple(types),
            given.get("max_bytes", IMAGE_BYTES),
            given.get("min_side"),
            None if max_aspect is None else float(max_aspect),
        )

    def seed_range(self, seed_key: str | None) -> tuple[int, int] | None:
        value = self.data.get("seed_range")
        if value is None:
            return None
        prop = self.props.get(seed_key or "", {"minimum": None})
        ok = isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)
        if not ok or value[0] > value[1] or "minimum" in prop or "maximum" in prop:
            self.problems.append("seed_range is [lowest, highest] for a seed_key with no range")
            return None
        return value[0], value[1]

    def weights(self, resolution_key: str | None) -> dict[str, int]:
        raw = self.mapping("resolution_weights")
        if not all(type(w) is int and w >= 1 for w in raw.values()):
            self.problems.append("resolution_weights must be whole numbers of at least 1")
        if resolution_key is None:
            if raw:
                self.problems.append("resolution_weights needs a resolution_key")
            return raw
        values = {str(v).casefold() for v in self.props[resolution_key].get("enum", ())}
        if {str(k).casefold() for k in raw} != values or len(raw) != len(values):
            self.problems.append("resolution_weights must price each resolution exactly once")
        return raw

    def descriptions(self) -> dict[str, str]:
        raw = self.mapping("descriptions")
        for key, text in raw.items():
            if key not in self.props or not isinstance(text, str) or not 0 < len(text) <= 90:
                self.problems.append(f"descriptions: `{shorten(key)}` needs 1 to 90 characters")
        return raw

    def check_roles(self, meta: ModelMeta) -> None:
        if meta.random_seed is not None and meta.seed_key is None:
            self.problems.append("random_seed needs a seed_key")
        if meta.duration_key is None:
            if meta.fixed_seconds is None:
                self.problems.append("a model without a duration_key needs fixed_seconds")
            return
        if meta.fixed_seconds is not None:
            self.problems.append("fixed_seconds is only for a model without a duration_key")
        prop = self.props[meta.duration_key]
        words = [v for v in prop.get("enum", ()) if not str(v).isdigit()]
        if words and meta.auto_seconds is None:
            self.problems.append(f"duration takes {words[0]!r}: give auto_seconds to price it")


def _content_type(media: MediaInput) -> str | None:
    kind = (media.content_type or "").partition(";")[0].strip().lower()
    if not kind:
        kind = (mimetypes.guess_type(media.filename)[0] or "").lower()
    return {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}.get(kind, kind) or None


def _type_matches(kind: str, wanted: str) -> bool:
    if wanted.endswith("/*"):
        return kind.startswith(wanted[:-1])
    return kind == wanted


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}".removesuffix(".0") + " MB"


def shorten(text: str, limit: int = 40) -> str:
    """`text` made safe to show inside backticks, cut to `limit` characters."""
    text = str(text).replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
