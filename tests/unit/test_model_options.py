"""`ModelSpec.from_options` for every shipped model: coercions, refusals, media, read-backs."""

from __future__ import annotations

import pytest

from bot.core.catalog import Catalog
from bot.core.model_meta import MediaInput
from bot.core.schema import MODEL, ModelSpec, VideoRequest

CATALOG = Catalog.shipped()
PROMPT = "a paper boat on a stormy sea"
URL = "https://cdn.discordapp.com/attachments/1/2/boat.png?ex=1"


def spec(key: str) -> ModelSpec:
    found = CATALOG.get(key)
    assert found is not None
    return found


S1 = MODEL
S25 = spec("bytedance-seedance-2.5-text-to-video-720p")
S25I = spec("bytedance-seedance-2.5-image-to-video-720p")
WAN = spec("wan-ai-wan-3.0-image-to-video")
FLUX = spec("blackforestlabs-flux-3-text-to-video")
HH = spec("alibaba-happyhorse-1.1-image-to-video")


def image(
    name: str = "boat.png",
    content_type: str | None = "image/png",
    size: int = 200_000,
    width: int | None = 1024,
    height: int | None = 768,
) -> MediaInput:
    return MediaInput(URL, content_type, size, width, height, name)


def ok(model: ModelSpec, **options: object) -> VideoRequest:
    result = model.from_options({"prompt": PROMPT, **options})
    assert isinstance(result, VideoRequest), result
    assert result.model_path == model.path and result.model_key == model.key
    return result


def refused(model: ModelSpec, **options: object) -> list[str]:
    result = model.from_options({"prompt": PROMPT, **options})
    assert isinstance(result, list) and result and all(result), result
    return result


# --- the default model: exactly today's params ---------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"resolution": "1080p", "ratio": "21:9", "duration": 12, "seed": 42},
        {"resolution": "720p", "ratio": "9:16", "duration": 2, "seed": 0},
        {"resolution": None, "ratio": None, "duration": None, "seed": None},
        {"seed": -1},
    ],
)
def test_the_default_model_gives_what_validate_gives(values: dict[str, object]):
    by_option = S1.from_options({"prompt": PROMPT, **values})
    assert by_option == S1.validate({"text": PROMPT, **values})
    assert isinstance(by_option, VideoRequest)


def test_the_default_model_payload_and_properties():
    request = ok(S1, resolution="720p", duration=6, seed=99)
    assert request.payload() == {
        "text": PROMPT,
        "resolution": "720p",
        "ratio": "16:9",
        "duration": 6,
        "seed": 99,
    }
    assert (request.prompt, request.resolution, request.duration, request.seed) == (
        PROMPT,
        "720p",
        6,
        99,
    )


def test_the_model_option_is_ignored_and_unknown_options_are_refused():
    assert S1.from_options({"prompt": PROMPT, "model": S1.key}) == ok(S1)
    [message] = refused(S1, style="anime")
    assert (
        message == "Seedance 1.0 Pro Fast has no style option; leave it out, or pick another model."
    )


# --- refusals that say how to fix it -------------------------------------------------------------


def test_an_option_the_model_does_not_take_is_refused_plainly():
    assert refused(S25I, image=image(), ratio="16:9") == [
        "Seedance 2.5 image-to-video (720p) has no ratio option; leave it out, or pick another "
        "model."
    ]
    [message] = refused(S25, resolution="720p")
    assert message.startswith("Seedance 2.5 (720p) has no resolution option")
    assert refused(FLUX, image=image())[0].startswith("FLUX 3 has no image option")
    assert refused(S1, generate_audio=True)[0].startswith("Seedance 1.0 Pro Fast has no")


@pytest.mark.parametrize("model", [S25I, WAN, HH], ids=lambda s: s.key)
def test_an_image_to_video_model_needs_an_image(model: ModelSpec):
    assert refused(model) == [
        f"{model.display_name} needs an image: attach one with the image option."
    ]


def test_several_problems_come_together():
    problems = refused(WAN, ratio="2:1", duration=40, seed=-5)
    assert len(problems) == 4
    joined = "\n".join(problems)
    for part in ("Ratio must be one of", "Duration must be a whole number from 2 to 30"):
        assert part in joined
    assert "needs an image" in joined and "Seed must be a whole number from 0 to" in joined


# --- coercions -----------------------------------------------------------------------------------


def test_an_integer_duration_becomes_flux_string_enum():
    request = ok(FLUX, duration=7)
    assert request.payload()["duration"] == "7" and request.duration == 7
    [message] = refused(FLUX, duration=3)
    assert "Duration must be auto, or a number from 5 to 20 (got `3`)" in message
    default = ok(FLUX)
    assert default.payload()["duration"] == "auto"
    assert default.duration == 20  # priced as the longest the model may choose
    assert ok(FLUX, duration="AUTO").payload()["duration"] == "auto"


def test_string_enums_match_across_case():
    assert ok(HH, image=image(), resolution="720p").payload()["resolution"] == "720P"
    assert ok(WAN, image=image(), resolution="1080P").payload()["resolution"] == "1080p"
    assert ok(S1, resolution="1080P").payload()["resolution"] == "1080p"
    assert ok(S25, ratio="ADAPTIVE").payload()["aspect_ratio"] == "adaptive"


def test_renamed_options_reach_their_schema_fields():
    payload = ok(WAN, image=image(), end_image=image("end.jpg", "image/jpeg"), generate_audio=False)
    assert payload.payload()["enable_audio"] is False
    assert payload.payload()["image_url"] == payload.payload()["end_image_url"] == URL
    assert ok(FLUX, ratio="2:1").payload()["aspect_ratio"] == "2:1"


@pytest.mark.parametrize(("given", "sent"), [(True, True), (False, False), ("off", False)])
def test_booleans(given: object, sent: bool):
    assert ok(S25, generate_audio=given).payload()["generate_audio"] is sent


def test_a_bad_boolean_is_refused():
    [message] = refused(S25, generate_audio="maybe")
    assert message == "Generate audio must be true or false."


def test_defaults_are_filled_but_a_seed_is_not():
    payload = ok(WAN, image=image()).payload()
    assert payload == {
        "prompt": PROMPT,
        "aspect_ratio": "adaptive",
        "resolution": "720p",
        "duration": 5,
        "enable_audio": True,
        "prompt_extend": True,
        "image_url": URL,
    }
    assert ok(HH, image=image(), seed=0).payload()["seed"] == 0  # 0 is HappyHorse's random
    assert ok(HH, image=image(), seed=7).seed == 7


def test_integer_ranges_from_the_schema():
    assert refused(FLUX, safety_tolerance=5) == [
        "Safety tolerance must be a whole number from 0 to 4 (got `5`)."
    ]
    assert "from 0 to 2147483647" in refused(HH, image=image(), seed=2**31)[0]
    assert ok(S25, duration=30).duration == 30


def test_prompt_rules_hold_for_every_model():
    for model in (S25, FLUX):
        [message] = refused(model, prompt="\u200b" * 20 + "x")
        assert message == "Prompt is mostly invisible characters; retype it as plain text."
    assert "the limit is 5000" in refused(HH, image=image(), prompt="a" * 5001)[0]
    assert ok(S25, prompt="Ｇｏｒｅ\u200b fest").prompt == "Gore fest"
    [message] = refused(S25, prompt="   ")
    assert message.startswith("Prompt is required")


# --- media ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "says"),
    [
        (image("clip.mp4", "video/mp4"), "`clip.mp4` is not an image; attach one with the image"),
        (image("a.pdf", None), "`a.pdf` is not an image"),
        (image(size=60_000_000), "is 60 MB; Seedance 2.5 image-to-video (720p) takes files up"),
    ],
)
def test_any_image_up_to_50_mb_for_most_models(media: MediaInput, says: str):
    [message] = refused(S25I, image=media)
    assert says in message


def test_most_models_take_any_image_type():
    for media in (image("a.gif", "image/gif"), image("a.heic", "image/heic", width=None)):
        assert ok(S25I, image=media).payload()["image"] == URL
    assert ok(S25I, image=image(size=50_000_000)).payload()["image"] == URL


@pytest.mark.parametrize(
    ("media", "says"),
    [
        (image("a.gif", "image/gif"), "`a.gif` is not a JPEG, PNG or WEBP image"),
        (
            image(size=10_500_000),
            "is 10.5 MB; HappyHorse 1.1 image-to-video takes files up to 10 MB",
        ),
        (
            image(width=299, height=800),
            "is 299×800 px; HappyHorse 1.1 image-to-video needs at least",
        ),
        (image(width=3000, height=1000), "too wide; HappyHorse 1.1 image-to-video takes shapes"),
        (image(width=400, height=1001), "too tall"),
        (image(width=None, height=None), "I can't read the size of `boat.png`"),
    ],
)
def test_happyhorse_image_rules(media: MediaInput, says: str):
    message = "\n".join(refused(HH, image=media))
    assert says in message
    if "wide" in says:
        assert "from 1:2.5 to 2.5:1" in message
    assert "needs an image" not in message  # one problem, said once


def test_happyhorse_accepts_the_limits_exactly():
    for media in (
        image(width=300, height=750),
        image(width=2500, height=1000),
        image("x.webp", "image/webp", 10_000_000),
        image("x.JPG", None),  # no content type: guessed from the name
        image("x.jpg", "image/jpg"),
    ):
        assert ok(HH, image=media).payload()["image_url"] == URL


def test_a_link_instead_of_an_attachment_is_checked_as_a_url():
    assert ok(WAN, image=URL).payload()["image_url"] == URL
    for bad in ("ftp://host/x.png", "not a url", "https://", "javascript:alert(1)"):
        assert refused(WAN, image=bad) == ["Image must be an http or https link to the file."]
    assert refused(WAN, image=image(), prompt_extend=image()) == [
        "Prompt extend takes a value, not a file."
    ]


# --- read-backs: summary, seconds, credits -------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "options", "summary"),
    [
        (S1, {}, "480p · 16:9 · 5 s · seed random"),
        (S1, {"resolution": "720p", "seed": 42}, "720p · 16:9 · 5 s · seed 42"),
        (S25, {}, "16:9 · 5 s · audio on"),
        (S25I, {"image": URL, "generate_audio": False}, "5 s · audio off"),
        (FLUX, {}, "720p · ratio auto · auto length · audio on · safety tolerance 2"),
        (HH, {"image": URL, "seed": 0}, "1080P · 5 s · seed random · watermark off"),
        (
            WAN,
            {"image": URL, "seed": 3},
            "720p · ratio adaptive · 5 s · seed 3 · audio on · prompt extend on",
        ),
    ],
)
def test_summary(model: ModelSpec, options: dict[str, object], summary: str):
    assert model.summary(ok(model, **options).params) == summary


@pytest.mark.parametrize(
    ("model", "options", "credits"),
    [
        (S1, {}, 5),
        (S1, {"resolution": "1080p", "duration": 12}, 60),
        (S25, {"duration": 10}, 80),
        (FLUX, {}, 40),
        (FLUX, {"resolution": "1080p", "duration": 5}, 20),
        (HH, {"image": URL}, 40),
        (HH, {"image": URL, "resolution": "720P", "duration": 3}, 12),
        (WAN, {"image": URL, "resolution": "480p"}, 20),
    ],
)
def test_credits_are_seconds_times_model_weight_times_resolution_weight(
    model: ModelSpec, options: dict[str, object], credits: int
):
    assert model.credits(ok(model, **options).params) == credits


def test_credit_overrides():
    params = ok(HH, image=URL).params  # 1080P, 5 s
    assert HH.credits(params, {"720p": 1, "1080p": 7}) == 5 * 4 * 7  # matched across case
    assert HH.credits(params, {"480p": 9}) == 5 * 4 * 2  # not covered: the meta's weight
    assert HH.credits(params, model_weight_override=1) == 5 * 1 * 2
    assert S25.credits(ok(S25).params, {"720p": 9}, 2) == 5 * 2  # no resolution field
    assert S1.credits(ok(S1).params, model_weight_override=0) == 0


def test_seconds():
    assert FLUX.seconds({"duration": "auto"}) == 20
    assert FLUX.seconds({"duration": "12"}) == 12
    assert FLUX.seconds({}) == 20
    assert S1.seconds({"duration": 7}) == 7
    assert ok(S25).resolution == "" and ok(S25).seed is None
