"""The queue line of a card: its place, and how fast the line moves, rounded so that every
wobble of the estimate does not cost a card edit."""

from __future__ import annotations

import pytest

from bot.core.domain import Job
from bot.ui.cards import speed_text, status_line
from tests.unit.test_schedule import make_job


@pytest.mark.parametrize(
    ("per_minute", "text"),
    [
        (0.5, "less than one place a minute"),
        (1.2, "about 1 place a minute"),
        (7.4, "about 7 places a minute"),
        (12.6, "about 15 places a minute"),
        (61.0, "about 60 places a minute"),
        (244.0, "about 240 places a minute"),
    ],
)
def test_the_speed_is_rounded_coarsely(per_minute: float, text: str):
    assert speed_text(per_minute / 60) == text


def test_close_speeds_read_the_same():
    assert speed_text(21.0 / 60) == speed_text(22.0 / 60)


def queued(position: int | None) -> Job:
    return make_job(1, queue_position=position)


def test_a_queued_card_shows_its_place_and_the_speed_once_known():
    assert status_line(queued(4)) == "⏳ Queued: #5 in line"
    moving = "⏳ Queued: #5 in line; the line moves about 10 places a minute"
    assert status_line(queued(4), 0.2) == moving
    assert status_line(queued(0), 0.2) == "⏳ Queued: #1 in line (next up)"
    assert status_line(queued(None), 0.2) == "⏳ Queued"
