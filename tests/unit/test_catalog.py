"""The model catalog: shipped files, meta checks, one `/video` command within Discord's limits."""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from bot.core.catalog import Catalog, CatalogError, SlashOption, choice_label
from bot.core.schema import MODEL, SEED_MAX, SEED_MIN, VideoRequest

SHARED_MODELS = Path(__file__).resolve().parents[3] / "shared" / "models"
PACKAGE = Path(str(resources.files("bot.models")))
FIVE = [
    "bytedance-seedance-2.5-text-to-video-720p",
    "bytedance-seedance-2.5-image-to-video-720p",
    "wan-ai-wan-3.0-image-to-video",
    "blackforestlabs-flux-3-text-to-video",
    "alibaba-happyhorse-1.1-image-to-video",
]
CATALOG = Catalog.load()
NAME = re.compile(r"^[-_a-z0-9]{1,32}$")

# A model nobody ships: what an admin adds by writing two files.
NEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "maxLength": 800},
        "aspect_ratio": {"type": "string", "enum": ["16:9", "2:3"], "default": "16:9"},
        "duration": {"type": "integer", "minimum": 1, "maximum": 8, "default": 4},
        "loop": {"type": "boolean", "default": False},
        "cfg": {"type": "number", "default": 0.5},
    },
    "required": ["prompt"],
}
NEW_META: dict[str, Any] = {
    "model_id": "acme/dream-1/text-to-video",
    "display_name": "Acme Dream 1",
    "kind": "text-to-video",
    "prompt_key": "prompt",
    "aspect_key": "aspect_ratio",
    "duration_key": "duration",
    "credits_per_second": 3,
    "descriptions": {"loop": "Make the video loop seamlessly"},
}


def write_model(folder: Path, key: str, schema: dict[str, Any], meta: dict[str, Any]) -> None:
    (folder / f"{key}.input.json").write_text(json.dumps(schema), encoding="utf-8")
    (folder / f"{key}.meta.json").write_text(json.dumps(meta), encoding="utf-8")


def shipped_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for path in PACKAGE.glob("*.json"):
        shutil.copy(path, folder / path.name)
    return folder


# --- the shipped files ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", FIVE)
def test_shipped_schemas_are_the_shared_copies_verbatim(key: str):
    if not SHARED_MODELS.is_dir():
        pytest.skip("shared/models/ is not beside the repository here")
    name = f"{key}.input.json"
    shipped, shared = (PACKAGE / name).read_bytes(), (SHARED_MODELS / name).read_bytes()
    assert json.loads(shipped) == json.loads(shared)
    assert shipped == shared


@pytest.mark.parametrize("key", FIVE)
def test_meta_keeps_the_upstream_model_id_and_source(key: str):
    if not SHARED_MODELS.is_dir():
        pytest.skip("shared/models/ is not beside the repository here")
    upstream = json.loads((SHARED_MODELS / f"{key}.meta.json").read_text(encoding="utf-8"))
    spec = CATALOG.get(key)
    assert spec is not None
    assert spec.path == upstream["model_id"]
    for name in ("repo", "commit", "path"):
        assert spec.meta.source[name] == upstream["source"][name]
    assert "estimate" in spec.meta.pricing_note


def test_every_shipped_model_loads_with_one_default_first():
    keys = {p.name.removesuffix(".input.json") for p in PACKAGE.glob("*.input.json")}
    assert set(CATALOG.keys()) == keys == {*FIVE, MODEL.key}
    assert {p.name for p in PACKAGE.glob("*.meta.json")} == {f"{k}.meta.json" for k in keys}
    assert CATALOG.default.key == MODEL.key == "seedance-1-0-pro-fast-t2v"
    assert [s.meta.default for s in CATALOG].count(True) == 1
    rest = [s.display_name for s in list(CATALOG)[1:]]
    assert rest == sorted(rest, key=str.casefold)
    assert Catalog.load().keys() == CATALOG.keys()  # a stable order


def test_display_names_and_kinds():
    names = {s.key: (s.display_name, s.meta.kind) for s in CATALOG}
    assert names == {
        MODEL.key: ("Seedance 1.0 Pro Fast", "text-to-video"),
        FIVE[0]: ("Seedance 2.5 (720p)", "text-to-video"),
        FIVE[1]: ("Seedance 2.5 image-to-video (720p)", "image-to-video"),
        FIVE[2]: ("Wan 3.0 image-to-video", "image-to-video"),
        FIVE[3]: ("FLUX 3", "text-to-video"),
        FIVE[4]: ("HappyHorse 1.1 image-to-video", "image-to-video"),
    }
    assert CATALOG.model_choices()[0] == ("Seedance 1.0 Pro Fast", MODEL.key)
    assert all(len(label) <= 100 and len(value) <= 100 for label, value in CATALOG.model_choices())


def test_lookups_by_key_and_by_model_path():
    for spec in CATALOG:
        assert CATALOG.get(spec.key) is spec and spec.key in CATALOG
        assert CATALOG.by_path(spec.path) is spec
    assert CATALOG.get("nope") is None and CATALOG.by_path("bytedance/nope") is None
    assert len(CATALOG) == 6 and Catalog.shipped() is Catalog.shipped()


def test_the_default_is_the_old_model_unchanged():
    default = CATALOG.default
    assert (default.path, default.title, default.required) == (MODEL.path, MODEL.title, {"text"})
    assert default.properties == MODEL.properties
    assert default.bounds("seed") == (SEED_MIN, SEED_MAX)
    assert default.validate({"text": "x"}) == MODEL.validate({"text": "x"})


# --- one command for every model -----------------------------------------------------------------

OPTIONS = {o.name: o for o in CATALOG.slash_options()}


def test_the_union_of_options_fits_discord():
    options = CATALOG.slash_options()
    assert len(options) + 1 <= 25  # the cog adds `model`
    assert "model" not in OPTIONS
    for option in options:
        assert NAME.match(option.name), option.name
        assert 1 <= len(option.description) <= 100, option
        assert len(option.choices) <= 25
        for label, value in option.choices:
            assert 1 <= len(label) <= 100 and 1 <= len(str(value)) <= 100
            assert isinstance(value, str if option.kind == "string" else int)
        assert option.models and set(option.models) <= set(CATALOG.keys())
    assert [o.name for o in options if o.required] == ["prompt"] == [options[0].name]


def test_option_order_prompt_then_the_default_model_then_the_rest():
    names = [o.name for o in CATALOG.slash_options()]
    assert names[:5] == ["prompt", "resolution", "ratio", "duration", "seed"]
    assert set(names) == {
        *names[:5],
        *("generate_audio", "safety_tolerance", "image", "end_image", "watermark"),
        "prompt_extend",
    }


def test_option_kinds_and_limits():
    assert {n: o.kind for n, o in OPTIONS.items()} == {
        "prompt": "string",
        "resolution": "string",
        "ratio": "string",
        "duration": "integer",
        "seed": "integer",
        "generate_audio": "boolean",
        "safety_tolerance": "integer",
        "image": "image",
        "end_image": "image",
        "watermark": "boolean",
        "prompt_extend": "boolean",
    }
    prompt = OPTIONS["prompt"]
    assert (prompt.min_length, prompt.max_length) == (1, 6000)  # Seedance 2.5 has no limit
    assert "500" in prompt.description
    assert (OPTIONS["duration"].min_value, OPTIONS["duration"].max_value) == (2, 30)
    assert (OPTIONS["seed"].min_value, OPTIONS["seed"].max_value) == (0, SEED_MAX)
    assert (OPTIONS["safety_tolerance"].min_value, OPTIONS["safety_tolerance"].max_value) == (0, 4)


def test_enum_values_differing_only_by_case_are_one_choice():
    assert OPTIONS["resolution"].choices == (
        ("480p", "480p"),
        ("720p", "720p"),
        ("1080p", "1080p"),
    )


def test_ratio_choices_are_labelled_and_cover_every_model():
    values = [v for _, v in OPTIONS["ratio"].choices]
    assert values[:6] == [str(v) for v in MODEL.enum("ratio")]
    assert {"adaptive", "auto", "2:1"} <= set(values) and len(values) == len(set(values))
    assert ("9:16 (portrait)", "9:16") in OPTIONS["ratio"].choices
    assert ("auto", "auto") in OPTIONS["ratio"].choices


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("16:9", "16:9 (landscape)"),
        ("1:1", "1:1 (square)"),
        ("3:4", "3:4 (portrait)"),
        ("adaptive", "adaptive"),
        ("480p", "480p"),
        ("a:b", "a:b"),
    ],
)
def test_choice_label(value: str, label: str):
    assert choice_label(value) == label


def test_descriptions_say_which_models_an_option_is_for():
    # What the option does first (with the default model's default), then who takes it.
    assert OPTIONS["image"].description.endswith("; image-to-video models only")
    assert OPTIONS["end_image"].description.endswith("; only Wan 3.0 image-to-video")
    assert OPTIONS["safety_tolerance"].description.endswith("; only FLUX 3")
    assert OPTIONS["resolution"].description == (
        "Picture quality; higher costs more (default 480p); not every model has it"
    )
    assert OPTIONS["duration"].description == "Length in seconds, 2 to 30 (default 5)"
    assert set(OPTIONS["image"].models) == {
        s.key for s in CATALOG if s.meta.kind != "text-to-video"
    }


def test_a_catalog_of_the_default_model_alone_describes_it_as_the_command_did():
    alone = Catalog([MODEL])
    described = {o.name: o.description for o in alone.slash_options()}
    assert described == {
        "prompt": "What the video should show (up to 500 characters)",
        "resolution": "Picture quality; higher costs more (default 480p)",
        "ratio": "Shape of the frame, width:height (default 16:9)",
        "duration": "Length in seconds, 2 to 12 (default 5)",
        "seed": "A number to reproduce a result; leave empty for a random one",
    }
    prompt = alone.slash_options()[0]
    assert (prompt.min_length, prompt.max_length) == (1, 500)


# --- a model added as two files ------------------------------------------------------------------


def test_a_model_added_by_writing_two_files(tmp_path: Path):
    folder = shipped_copy(tmp_path)
    write_model(folder, "acme-dream-1-text-to-video", NEW_SCHEMA, NEW_META)
    catalog = Catalog.load(folder)
    spec = catalog.by_path("acme/dream-1/text-to-video")
    assert spec is not None and spec.key == "acme-dream-1-text-to-video"
    assert catalog.default.key == MODEL.key and len(catalog) == 7
    options = {o.name: o for o in catalog.slash_options()}
    assert options["loop"] == SlashOption(
        "loop",
        "boolean",
        "Make the video loop seamlessly; only Acme Dream 1",
        ("acme-dream-1-text-to-video",),
    )
    assert "cfg" not in options  # a number field: left to the provider's default
    assert ("2:3 (portrait)", "2:3") in options["ratio"].choices
    request = spec.from_options({"prompt": "a fox", "ratio": "2:3", "loop": True, "duration": 8})
    assert isinstance(request, VideoRequest)
    assert request.payload() == {
        "prompt": "a fox",
        "aspect_ratio": "2:3",
        "duration": 8,
        "loop": True,
    }
    assert spec.credits(request.params) == 8 * 3
    assert spec.summary(request.params) == "2:3 · 8 s · loop on"
    assert spec.validate({"prompt": "x", "cfg": 0.7}) == [
        "Cfg has a type this bot does not support."
    ]


def test_a_folder_with_a_single_model_makes_it_the_default(tmp_path: Path):
    write_model(tmp_path, "acme-dream-1-text-to-video", NEW_SCHEMA, NEW_META)
    catalog = Catalog.load(tmp_path)
    assert catalog.default.display_name == "Acme Dream 1" and len(catalog) == 1


# --- what a bad model file says ------------------------------------------------------------------


def bad_meta(tmp_path: Path, meta: dict[str, Any], schema: dict[str, Any] | None = None) -> str:
    write_model(tmp_path, "acme-x", schema or NEW_SCHEMA, meta)
    with pytest.raises(CatalogError) as caught:
        Catalog.load(tmp_path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"display_name": None}, "display_name must be a non-empty string"),
        ({"display_name": "x" * 101}, "at most 100 characters"),
        ({"kind": "text-to-image"}, "kind must be one of"),
        ({"model_id": None}, "model_id must be a non-empty string"),
        ({"model_id": "no-slash"}, "is not a model path"),
        ({"prompt_key": "text"}, "prompt_key must name a field of the schema of type string"),
        ({"aspect_key": "duration"}, "of type string enum"),
        ({"seed_key": "loop"}, "seed_key must name a field of the schema of type integer"),
        ({"random_seed": -1}, "random_seed needs a seed_key"),
        ({"credits_per_second": "3"}, "credits_per_second must be a whole number"),
        ({"credits_per_second": None}, "credits_per_second must be a whole number"),
        ({"colour": "red"}, "unknown field `colour`"),
        ({"options": {"loop": "Loop Me"}}, "needs an option name"),
        ({"options": {"loop": "model"}}, "`model` is reserved"),
        ({"options": {"loop": "duration"}}, "both be the option `duration`"),
        ({"options": {"nope": "x"}}, "`nope` is not a field to rename"),
        ({"resolution_weights": {"720p": 2}}, "resolution_weights needs a resolution_key"),
        ({"fixed_seconds": 5}, "fixed_seconds is only for a model without a duration_key"),
        ({"duration_key": None}, "needs fixed_seconds"),
        ({"media": {"loop": {}}}, "`loop` is not an image_uri field"),
        ({"kind": "image-to-video"}, "needs a required image field"),
        ({"default": "yes"}, "default must be true or false"),
        ({"descriptions": {"loop": ""}}, "needs 1 to 90 characters"),
    ],
)
def test_a_bad_meta_is_refused_naming_the_file(tmp_path: Path, change: dict[str, Any], says: str):
    meta = {k: v for k, v in {**NEW_META, **change}.items() if v is not None}
    message = bad_meta(tmp_path, meta)
    assert message.startswith("acme-x.meta.json: ") and says in message, message


def test_schema_problems_are_reported_for_the_schema_file(tmp_path: Path):
    schema = {**NEW_SCHEMA, "required": ["prompt", "cfg"]}
    message = bad_meta(tmp_path, NEW_META, schema)
    assert message.startswith("acme-x.input.json: ") and "`cfg` is required" in message
    assert "properties" in bad_meta(tmp_path, NEW_META, {"type": "object"})


def test_weights_must_price_each_resolution(tmp_path: Path):
    schema = json.loads((PACKAGE / f"{FIVE[4]}.input.json").read_text(encoding="utf-8"))
    meta = json.loads((PACKAGE / f"{FIVE[4]}.meta.json").read_text(encoding="utf-8"))
    meta["resolution_weights"] = {"720p": 1}
    assert "price each resolution exactly once" in bad_meta(tmp_path, meta, schema)


def test_a_word_duration_needs_auto_seconds(tmp_path: Path):
    schema = json.loads((PACKAGE / f"{FIVE[3]}.input.json").read_text(encoding="utf-8"))
    meta = json.loads((PACKAGE / f"{FIVE[3]}.meta.json").read_text(encoding="utf-8"))
    del meta["auto_seconds"]
    assert "give auto_seconds" in bad_meta(tmp_path, meta, schema)


def test_a_bad_media_rule_is_refused(tmp_path: Path):
    schema = json.loads((PACKAGE / f"{FIVE[4]}.input.json").read_text(encoding="utf-8"))
    meta = json.loads((PACKAGE / f"{FIVE[4]}.meta.json").read_text(encoding="utf-8"))
    meta["media"]["image_url"]["max_aspect"] = 0.5
    assert "media.image_url takes" in bad_meta(tmp_path, meta, schema)


def test_file_pairs_json_and_defaults(tmp_path: Path):
    (tmp_path / "lonely.meta.json").write_text("{}")
    assert "lonely.meta.json has no lonely.input.json" in bad_meta(tmp_path, NEW_META)
    (tmp_path / "lonely.meta.json").unlink()
    (tmp_path / "solo.input.json").write_text(json.dumps(NEW_SCHEMA))
    assert "solo.input.json has no solo.meta.json" in bad_meta(tmp_path, NEW_META)
    (tmp_path / "solo.meta.json").write_text("{not json")
    assert "solo.meta.json: cannot read it as JSON" in bad_meta(tmp_path, NEW_META)
    (tmp_path / "solo.meta.json").write_text(json.dumps({**NEW_META, "display_name": "Solo"}))
    assert "exactly one model must say" in bad_meta(tmp_path, NEW_META)
    both = {**NEW_META, "default": True}
    assert "share a model_id" in bad_meta(tmp_path, both)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CatalogError, match="no models"):
        Catalog.load(empty)


def test_too_many_options_between_the_models_is_refused(tmp_path: Path):
    props = {f"flag_{i}": {"type": "boolean"} for i in range(24)}
    schema = {"properties": {"prompt": {"type": "string"}, **props}, "required": ["prompt"]}
    meta = {**NEW_META, "aspect_key": None, "duration_key": None, "fixed_seconds": 5}
    meta["descriptions"] = {}
    assert "Discord takes 25" in bad_meta(tmp_path, meta, schema)


def test_an_option_with_two_types_is_refused(tmp_path: Path):
    folder = shipped_copy(tmp_path)
    schema = {**NEW_SCHEMA, "properties": {**NEW_SCHEMA["properties"], "seed": {"type": "string"}}}
    write_model(folder, "acme-x", schema, NEW_META)
    with pytest.raises(CatalogError, match="option `seed` has different types"):
        Catalog.load(folder)
