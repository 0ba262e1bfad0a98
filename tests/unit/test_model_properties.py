"""Properties over arbitrary options: nothing outside a model's schema ever reaches RunComfy."""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.catalog import Catalog
from bot.core.model_meta import MediaInput, field_kind
from bot.core.schema import MODEL, ModelSpec, VideoRequest
from bot.core.text import mostly_invisible, normalize_text
from bot.sandbox.validation import check_body

CATALOG = Catalog.shipped()
SPECS = list(CATALOG)
OPTION_NAMES = [o.name for o in CATALOG.slash_options()] + ["model"]
ENUM_TEXT = sorted(
    {str(v) for s in SPECS for p in s.properties.values() for v in p.get("enum", ())}
)

_any_char = st.one_of(
    st.characters(exclude_categories=()),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.sampled_from("\x00\x1b\t\r\n\x7f \u200b\u200d\u3000"),
)
_text = st.one_of(
    st.text(alphabet=_any_char, max_size=80),
    st.text(alphabet=st.characters(categories=("L", "N", "Zs")), min_size=490, max_size=510),
)
_enum_like = st.sampled_from(ENUM_TEXT).flatmap(
    lambda v: st.sampled_from([v, v.upper(), v.lower(), f" {v} ", f"{v}\u200b"])
)
_urls = st.sampled_from(
    [
        "https://cdn.discordapp.com/attachments/1/2/a.png?ex=1",
        "http://127.0.0.1:9/x.jpg",
        "ftp://host/x.png",
        "https://",
        "https://exa mple.com/x.png",
        "javascript:alert(1)",
        "",
    ]
)
_media = st.builds(
    MediaInput,
    url=_urls,
    content_type=st.sampled_from([None, "image/png", "image/jpeg", "image/gif", "video/mp4", ""]),
    size=st.integers(min_value=-1, max_value=60_000_000),
    width=st.one_of(st.none(), st.integers(min_value=-1, max_value=5000)),
    height=st.one_of(st.none(), st.integers(min_value=-1, max_value=5000)),
    filename=st.sampled_from(["a.png", "b.JPG", "c", "d.webp", "`e`.gif", ""]),
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-2, max_value=40),
    st.sampled_from([0, 2**31 - 1, 2**31, 2**32 - 1, 2**32, -1]),
    st.floats(allow_nan=True),
    _text,
    _enum_like,
    _urls,
    _media,
    st.lists(st.integers(), max_size=2),
)
_options = st.fixed_dictionaries(
    {"prompt": st.one_of(st.just("a red fox in the snow"), _text)},
    optional={name: _values for name in OPTION_NAMES if name != "prompt"},
).flatmap(
    lambda fixed: st.dictionaries(st.text(max_size=12), _values, max_size=2).map(
        lambda extra: {**extra, **fixed}
    )
)


def assert_inside(spec: ModelSpec, request: VideoRequest) -> None:
    payload = request.payload()
    assert request.model_path == spec.path and request.model_key == spec.key
    assert set(payload) <= set(spec.properties)
    assert spec.required <= set(payload)
    for name, value in payload.items():
        prop: dict[str, Any] = dict(spec.properties[name])
        kind = field_kind(prop)
        assert kind is not None
        if kind == "boolean":
            assert type(value) is bool
        elif kind == "integer":
            assert type(value) is int
            low, high = spec.bounds(name)
            assert (low is None or value >= low) and (high is None or value <= high)
        else:
            assert type(value) is str and value == value.strip() and value
        if "enum" in prop:
            assert value in prop["enum"]
        if kind == "image":
            assert isinstance(value, str)
            parts = urlsplit(value)
            assert parts.scheme in ("http", "https") and parts.hostname
        elif kind == "string":
            assert isinstance(value, str)
            assert normalize_text(value) == value and not mostly_invisible(value)
            assert all(c == "\n" or unicodedata.category(c) not in ("Cc", "Cs") for c in value)
            assert len(value) <= prop.get("maxLength", len(value))
    assert spec.prompt_key in payload and request.prompt == payload[spec.prompt_key]
    # The sandbox, as strict as a picky provider, takes it as sent; and it validates again as is.
    assert check_body(spec, payload) == []
    again = spec.validate(payload)
    assert isinstance(again, VideoRequest) and again == request
    assert spec.credits(payload) >= 0 and spec.summary(payload) is not None


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(SPECS), _options)
def test_from_options_gives_problems_or_a_request_inside_the_schema(
    spec: ModelSpec, options: dict[str, object]
):
    result = spec.from_options(options)
    if isinstance(result, list):
        assert result and all(isinstance(p, str) and p.strip() for p in result)
        return
    assert_inside(spec, result)
    taken = {k for k, v in options.items() if v is not None and k != "model"}
    assert taken <= set(spec.options)  # anything else was refused


def _likely(spec: ModelSpec, key: str) -> st.SearchStrategy[object]:
    """Values this field of this model probably takes."""
    prop, kind = spec.properties[key], field_kind(spec.properties[key])
    if "enum" in prop:
        good: st.SearchStrategy[object] = st.sampled_from(prop["enum"]).flatmap(
            lambda v: st.sampled_from(
                [v, str(v).upper(), f" {v}", int(v) if str(v).isdigit() else v]
            )
        )
    elif kind == "integer":
        low, high = spec.bounds(key)
        low, high = -3 if low is None else low - 2, 100 if high is None else min(high, 2**40) + 2
        good = st.integers(min_value=low, max_value=high)
    elif kind == "boolean":
        good = st.booleans()
    elif kind == "image":
        good = st.builds(
            MediaInput,
            url=st.just("https://cdn.discordapp.com/attachments/1/2/a.png"),
            content_type=st.sampled_from(["image/png", "image/jpeg", "image/webp", None]),
            size=st.integers(min_value=0, max_value=11_000_000),
            width=st.integers(min_value=250, max_value=3000),
            height=st.integers(min_value=250, max_value=3000),
            filename=st.sampled_from(["a.png", "b.jpg"]),
        )
    else:
        good = st.one_of(st.just("a red fox in the snow"), _text)
    return good


@st.composite
def _plausible(draw: st.DrawFn, spec: ModelSpec) -> dict[str, object]:
    options: dict[str, object] = {}
    for option, key in spec.options.items():
        if key in spec.required or draw(st.booleans()):
            junk = draw(st.integers(min_value=0, max_value=15)) == 0
            options[option] = draw(_values if junk else _likely(spec, key))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        options[draw(st.sampled_from(OPTION_NAMES))] = draw(_values)
    return options


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_plausible_options_give_problems_or_a_request_inside_the_schema(data: st.DataObject):
    spec = data.draw(st.sampled_from(SPECS))
    result = spec.from_options(data.draw(_plausible(spec)))
    if isinstance(result, list):
        assert result and all(isinstance(p, str) and p.strip() for p in result)
        return
    assert_inside(spec, result)


_s1 = st.fixed_dictionaries(
    {
        "prompt": st.one_of(st.just("a fox"), _text),
        "resolution": st.one_of(st.none(), _enum_like),
        "ratio": st.one_of(st.none(), _enum_like),
        "duration": st.one_of(st.none(), st.integers(min_value=0, max_value=14)),
        "seed": st.one_of(st.none(), st.sampled_from([-2, -1, 0, 7, 2**32 - 1, 2**32])),
    }
)


@settings(max_examples=400, deadline=None)
@given(_s1)
def test_the_default_model_from_options_is_validate_with_the_old_field_names(
    options: dict[str, object],
):
    by_option = MODEL.from_options(options)
    old = MODEL.validate({"text" if k == "prompt" else k: v for k, v in options.items()})
    if isinstance(old, VideoRequest):
        assert by_option == old
    if isinstance(by_option, list):  # never stricter than validate
        assert isinstance(old, list)
