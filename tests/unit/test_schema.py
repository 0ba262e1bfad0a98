"""The one gate between raw options and RunComfy: `MODEL.validate()` against the shipped schema."""

from __future__ import annotations

import json
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.schema import MODEL, SCHEMA_FILE, VideoRequest
from bot.core.text import mostly_invisible, normalize_text

# The team's reference copy sits beside the repository (as in CI), when it is there at all.
SHARED_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / SCHEMA_FILE
SEED_MAX = 4294967295
PROMPT = "a paper boat on a stormy sea"


def package_schema() -> dict[str, Any]:
    text = resources.files("bot.models").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


SCHEMA = package_schema()
PROPS: dict[str, dict[str, Any]] = SCHEMA["properties"]
MAX_PROMPT = int(PROPS["text"]["maxLength"])


def ok(raw: dict[str, object]) -> VideoRequest:
    result = MODEL.validate(raw)
    assert isinstance(result, VideoRequest), result
    return result


def errors(raw: dict[str, object]) -> list[str]:
    result = MODEL.validate(raw)
    assert isinstance(result, list), result
    assert result and all(isinstance(e, str) and e for e in result)
    return result


# --- the schema file is the source of truth ------------------------------------------------------


def test_package_schema_equals_the_shared_copy():
    if not SHARED_SCHEMA.parent.is_dir():
        pytest.skip("shared/ is not beside the repository here")
    assert json.loads(SHARED_SCHEMA.read_text(encoding="utf-8")) == SCHEMA


@pytest.mark.parametrize("name", sorted(PROPS))
def test_enums_defaults_and_limits_are_the_schema_files(name: str):
    prop = PROPS[name]
    assert MODEL.enum(name) == tuple(prop.get("enum", ()))
    assert MODEL.default(name) == prop.get("default")
    assert MODEL.max_length(name) == prop.get("maxLength")
    assert MODEL.path == SCHEMA["x-model-path"]
    assert MODEL.required == frozenset(SCHEMA["required"])


def test_every_enum_value_of_the_schema_is_accepted():
    for name, prop in PROPS.items():
        for value in prop.get("enum", ()):
            assert ok({"text": PROMPT, name: value}).payload()[name] == value


# --- examples ------------------------------------------------------------------------------------


def test_defaults_are_filled_from_the_schema():
    request = ok({"text": PROMPT})
    assert request.payload() == {
        "text": PROMPT,
        "resolution": PROPS["resolution"]["default"],
        "ratio": PROPS["ratio"]["default"],
        "duration": PROPS["duration"]["default"],
    }
    assert request.model_path == SCHEMA["x-model-path"]
    assert request.seed is None
    assert (request.resolution, request.duration) == ("480p", 5)


def test_none_and_blank_options_take_the_default():
    request = ok({"text": PROMPT, "resolution": None, "ratio": "  ", "duration": None, "seed": ""})
    assert request.payload() == ok({"text": PROMPT}).payload()


def test_all_options_given():
    request = ok(
        {"text": PROMPT, "resolution": "1080p", "ratio": "21:9", "duration": 12, "seed": 42}
    )
    assert request.payload() == {
        "text": PROMPT,
        "resolution": "1080p",
        "ratio": "21:9",
        "duration": 12,
        "seed": 42,
    }
    assert request.seed == 42


def test_prompt_is_trimmed():
    assert ok({"text": f" \n\t {PROMPT}\n  "}).prompt == PROMPT


def test_string_options_are_trimmed_too():
    assert ok({"text": PROMPT, "ratio": " 9:16 ", "resolution": "720p\n"}).payload()["ratio"] == (
        "9:16"
    )


@pytest.mark.parametrize("blank", [None, "", "   ", "\n\t \n", "\u3000"])
def test_blank_prompt_is_required(blank: object):
    raw: dict[str, object] = {} if blank is None else {"text": blank}
    [message] = errors(raw)
    assert "Prompt" in message and "required" in message


def test_prompt_length_limit_500_is_fine_501_is_not():
    assert ok({"text": "a" * MAX_PROMPT}).prompt == "a" * MAX_PROMPT
    [message] = errors({"text": "a" * (MAX_PROMPT + 1)})
    assert "Prompt" in message
    assert "501" in message and "500" in message and "Shorten it by 1" in message


def test_prompt_length_is_counted_after_trimming():
    assert len(ok({"text": "  " + "a" * MAX_PROMPT + "\n "}).prompt) == MAX_PROMPT


@pytest.mark.parametrize(
    ("name", "bad", "label"),
    [
        ("resolution", "4k", "Resolution"),
        ("resolution", "480P", "Resolution"),
        ("ratio", "2:1", "Aspect Ratio"),
        ("ratio", "16/9", "Aspect Ratio"),
        ("duration", 1, "Duration"),
        ("duration", 13, "Duration"),
        ("duration", 0, "Duration"),
        ("duration", -5, "Duration"),
    ],
)
def test_each_enum_violation_names_the_field_and_the_choices(name: str, bad: object, label: str):
    [message] = errors({"text": PROMPT, name: bad})
    assert label in message
    assert f"`{bad}`" in message  # what was given
    allowed = PROPS[name]["enum"]
    if all(isinstance(v, int) for v in allowed):
        assert f"from {min(allowed)} to {max(allowed)}" in message
    else:
        assert all(str(v) in message for v in allowed)


def test_duration_as_a_digit_string_is_accepted_as_an_int():
    request = ok({"text": PROMPT, "duration": "7"})
    assert request.payload()["duration"] == 7
    assert type(request.payload()["duration"]) is int


@pytest.mark.parametrize("bad", [True, False, 5.0, 5.5, "five", "7s", "٧", [5], {"d": 5}])
def test_duration_must_be_a_whole_number_not_a_bool_or_float(bad: object):
    [message] = errors({"text": PROMPT, "duration": bad})
    assert "Duration" in message and "whole number" in message


@pytest.mark.parametrize("seed", [0, 1, 7, SEED_MAX, "0", str(SEED_MAX)])
def test_seed_bounds_accepted(seed: object):
    assert ok({"text": PROMPT, "seed": seed}).seed == int(str(seed))


@pytest.mark.parametrize("seed", [2**32, -2, -(2**40), 10**30, "4294967296", "-2"])
def test_seed_out_of_range_rejected(seed: object):
    [message] = errors({"text": PROMPT, "seed": seed})
    assert "Seed" in message and "0 to 4294967295" in message


@pytest.mark.parametrize("seed", [-1, "-1"])
def test_seed_minus_one_means_random_and_is_omitted(seed: object):
    request = ok({"text": PROMPT, "seed": seed})
    assert "seed" not in request.payload()
    assert request.seed is None


@pytest.mark.parametrize("seed", [True, 1.0, "seven", [7]])
def test_seed_must_be_a_whole_number(seed: object):
    [message] = errors({"text": PROMPT, "seed": seed})
    assert "Seed" in message and "whole number" in message


@pytest.mark.parametrize(
    "prompt",
    ["a\x00b", "a\x1bb", "a\tb", "a\rb", "a\x7fb", "a\x85b", "a\ud800b", "a\udfffb"],
)
def test_control_characters_and_surrogates_are_rejected(prompt: str):
    [message] = errors({"text": prompt})
    assert "Prompt" in message and "control" in message


@pytest.mark.parametrize("bad", ["4\x00k", "\x1b[31m720p"])
def test_control_characters_in_other_strings_are_rejected(bad: str):
    [message] = errors({"text": PROMPT, "resolution": bad})
    assert "Resolution" in message


@pytest.mark.parametrize(
    "prompt",
    [
        "a paper boat\non a stormy sea",
        "family 👨\u200d👩\u200d👧 at the beach",
        "🏳️\u200d🌈 flag waving, 東京の夜, café",
        "right-to-left: \u05e9\u05dc\u05d5\u05dd",
        "🧑🏽\u200d🚀 keycaps 1️⃣ #️⃣, ❤️\u200d🔥, Straße, naïve, 서울, ที่นี่",
        "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f over the hills",
    ],
)
def test_newline_and_emoji_with_zwj_are_fine(prompt: str):
    assert ok({"text": prompt}).prompt == prompt


# --- hidden and lookalike characters -------------------------------------------------------------


@pytest.mark.parametrize("typed", ["G\u200bore fest", "Go\u00adre fest", "Ｇｏｒｅ fest"])
def test_the_prompt_sent_is_the_normalised_one(typed: str):
    request = ok({"text": typed})
    assert request.prompt == "Gore fest"
    assert request.payload()["text"] == "Gore fest"


def test_other_string_options_are_normalised_too():
    payload = ok({"text": PROMPT, "resolution": "７２０ｐ", "ratio": "16:9\u200b"}).payload()
    assert (payload["resolution"], payload["ratio"]) == ("720p", "16:9")


def test_hidden_characters_at_the_ends_are_trimmed_with_the_whitespace():
    assert ok({"text": "\u200b " + PROMPT + " \ufeff"}).prompt == PROMPT


@pytest.mark.parametrize(
    "prompt", ["\u200b" * 20 + "hi", "a" + "\u200b\u200c\u200d\u2060" * 50, "\u3164" * 9 + "x"]
)
def test_a_mostly_invisible_prompt_is_refused(prompt: str):
    [message] = errors({"text": prompt})
    assert message == "Prompt is mostly invisible characters; retype it as plain text."


def test_only_hidden_characters_are_refused_the_same_way():
    [message] = errors({"text": "\u200b\u00ad\u2060"})
    assert "mostly invisible" in message


def test_a_prompt_that_turns_into_spaces_and_marks_is_refused():
    # "´" is a visible accent whose NFKC form is a space and a combining mark.
    [message] = errors({"text": "x´´´´"})
    assert "mostly invisible" in message


def test_the_length_limit_is_checked_after_normalising():
    # Hidden characters do not count against the limit...
    assert ok({"text": "a" * MAX_PROMPT + "\u200b" * 10}).prompt == "a" * MAX_PROMPT
    # ...and a ligature that NFKC spells out counts as what it becomes.
    [message] = errors({"text": "\ufdfa" * 28})  # 18 characters each
    assert f"is {18 * 28} characters long" in message


@pytest.mark.parametrize("bad", [123, 1.5, True, ["a"], {"a": 1}])
def test_prompt_must_be_text(bad: object):
    [message] = errors({"text": bad})
    assert "Prompt" in message and "text" in message


def test_unknown_option_is_rejected_and_named():
    [message] = errors({"text": PROMPT, "style": "anime"})
    assert "`style`" in message and "not an option" in message


def test_unknown_option_name_is_shortened_and_cannot_break_the_markdown():
    [message] = errors({"text": PROMPT, "`" * 3 + "x" * 200: 1})
    assert "```" not in message
    assert len(message) < 120


def test_several_problems_are_reported_together():
    result = errors(
        {
            "text": "a" * (MAX_PROMPT + 3),
            "resolution": "4k",
            "ratio": "2:1",
            "duration": 13,
            "seed": -2,
            "fps": 60,
        }
    )
    assert len(result) == 6
    joined = "\n".join(result)
    for label in ("Prompt", "Resolution", "Aspect Ratio", "Duration", "Seed", "`fps`"):
        assert label in joined


def test_missing_prompt_and_bad_option_are_reported_together():
    result = errors({"duration": 99})
    assert len(result) == 2
    assert any("Prompt" in m and "required" in m for m in result)
    assert any("Duration" in m for m in result)


def test_a_long_bad_value_is_shortened_in_the_message():
    [message] = errors({"text": PROMPT, "ratio": "9" * 1000})
    assert len(message) < 150 and "…" in message


# --- odd numbers: the gate answers a list of problems, never raises -------------------------------


@pytest.mark.parametrize("name", ["duration", "seed"])
def test_several_minus_signs_are_a_problem_not_a_crash(name: str):
    [message] = errors({"text": PROMPT, name: "--5"})
    assert "whole number" in message


def test_a_huge_digit_string_is_a_problem_not_a_crash():
    [message] = errors({"text": PROMPT, "seed": "1" * 5000})
    assert "Seed" in message


def test_a_huge_integer_outside_an_enum_is_a_problem_not_a_crash():
    [message] = errors({"text": PROMPT, "duration": 10**5000})
    assert "Duration" in message


# --- properties over arbitrary input -------------------------------------------------------------

_any_char = st.one_of(
    st.characters(exclude_categories=()),  # every category, controls included
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    st.sampled_from("\x00\x1b\t\r\n\x7f\x85 \u200d\u3000"),
)
_clean_char = st.characters(categories=("L", "N", "P", "S", "Zs"))
_any_text = st.one_of(
    st.text(alphabet=_any_char, max_size=600),
    # Clean text around the length limit: arbitrary characters rarely get that long unbroken.
    st.text(alphabet=_clean_char, min_size=MAX_PROMPT - 5, max_size=MAX_PROMPT + 5),
)
_seed_edges = st.sampled_from([-2, -1, 0, 1, SEED_MAX, SEED_MAX + 1, 2**33, -(2**31)])
_int_like_text = st.builds(
    lambda pad1, sign, digits, pad2: f"{pad1}{sign}{digits}{pad2}",
    st.sampled_from(["", " ", "\t", "\n"]),
    st.sampled_from(["", "-", "+"]),
    st.integers(min_value=0, max_value=2**40).map(str),
    st.sampled_from(["", " ", "\x00"]),
)
_enum_text = st.sampled_from(
    [str(v) for p in PROPS.values() for v in p.get("enum", ())] + ["4k", "2:1"]
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-2, max_value=2**32 + 1),
    _seed_edges,
    _seed_edges.map(str),
    st.floats(allow_nan=True, allow_infinity=True),
    _any_text,
    _int_like_text,
    _enum_text,
    st.sampled_from(PROPS["duration"]["enum"]),
)
_values = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=3),
    st.dictionaries(st.text(max_size=3), _scalars, max_size=2),
)
_raw = st.fixed_dictionaries(
    {},
    optional={name: _values for name in PROPS},
).flatmap(
    lambda fixed: st.dictionaries(
        st.text(alphabet=_any_char, max_size=20), _values, max_size=2
    ).map(lambda extra: {**extra, **fixed})
)


def _check_request(request: VideoRequest) -> None:
    payload = request.payload()
    assert set(payload) <= set(PROPS)
    assert set(MODEL.required) <= set(payload)
    assert request.model_path == SCHEMA["x-model-path"]
    for name, value in payload.items():
        prop = PROPS[name]
        if prop["type"] == "string":
            assert type(value) is str
        else:
            assert type(value) is int
        if "enum" in prop:
            assert value in prop["enum"]
    prompt = payload["text"]
    assert isinstance(prompt, str)
    assert prompt.strip() == prompt and prompt
    assert len(prompt) <= MAX_PROMPT
    for char in prompt:
        assert char == "\n" or unicodedata.category(char) not in ("Cc", "Cs"), repr(char)
    assert normalize_text(prompt) == prompt
    assert not mostly_invisible(prompt)
    if "seed" in payload:
        assert 0 <= int(payload["seed"]) <= SEED_MAX


@settings(max_examples=400, deadline=None)
@given(_raw)
def test_any_input_gives_problems_or_a_request_inside_the_schema(raw: dict[str, object]):
    result = MODEL.validate(raw)
    if isinstance(result, list):
        assert result and all(isinstance(e, str) and e.strip() for e in result)
        return
    _check_request(result)


@settings(max_examples=300, deadline=None)
@given(
    text=_any_text,
    resolution=st.one_of(st.none(), _enum_text),
    ratio=st.one_of(st.none(), _enum_text),
    duration=st.one_of(st.none(), st.integers(min_value=0, max_value=14), _int_like_text),
    seed=st.one_of(
        st.none(), _seed_edges, st.integers(min_value=-3, max_value=2**32 + 2), _int_like_text
    ),
)
def test_validating_a_payload_again_gives_the_same_payload(
    text: str, resolution: object, ratio: object, duration: object, seed: object
):
    raw = {"text": text, "resolution": resolution, "ratio": ratio, "duration": duration}
    raw["seed"] = seed
    first = MODEL.validate(raw)
    if isinstance(first, list):
        return
    _check_request(first)
    again = MODEL.validate(first.payload())
    assert isinstance(again, VideoRequest)
    assert again.payload() == first.payload()
    assert again == first


@settings(max_examples=200, deadline=None)
@given(_any_text)
def test_any_prompt_is_accepted_exactly_when_it_is_clean_visible_and_short(text: str):
    stripped = text.strip()
    clean = all(c == "\n" or unicodedata.category(c) not in ("Cc", "Cs") for c in stripped)
    sent = normalize_text(stripped).strip() if clean else ""
    visible = not mostly_invisible(stripped) and not mostly_invisible(sent)
    result = MODEL.validate({"text": text})
    expected_ok = bool(stripped) and clean and visible and len(sent) <= MAX_PROMPT
    assert isinstance(result, VideoRequest) == expected_ok
    if isinstance(result, VideoRequest):
        assert result.prompt == sent
