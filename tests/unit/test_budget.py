"""The one place replies built from data are made to fit Discord's limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.ui.budget import clip, excerpt, fit_lines


def test_clip_keeps_short_text_and_marks_a_cut():
    assert clip("short", 10) == "short"
    assert clip("a" * 20, 10) == "a" * 9 + "…"


def test_excerpt_folds_newlines():
    assert excerpt("one\ntwo   three", 100) == "one two three"


def test_fit_lines_counts_what_was_left_out():
    lines = [f"line {i} " + "x" * 90 for i in range(30)]
    text = fit_lines(lines, 1000)
    assert len(text) <= 1000
    kept = text.splitlines()
    assert kept[-1] == f"…and {30 - (len(kept) - 1)} more not shown."
    assert kept[:-1] == lines[: len(kept) - 1]


def test_fit_lines_keeps_everything_that_fits():
    assert fit_lines(["a", "b"], 100) == "a\nb"
    assert fit_lines([], 100) == ""


@given(st.lists(st.text(max_size=300), max_size=40), st.integers(min_value=1, max_value=4096))
def test_fit_lines_never_exceeds_its_budget(lines: list[str], limit: int):
    assert len(fit_lines(lines, limit)) <= limit
