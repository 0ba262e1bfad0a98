"""Competition ranking with ties (1, 1, 3), the shuffle of entry numbers, what results say
about winners and ties, and account ages from snowflakes."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.contests.domain import (
    TIE_RULE,
    ContestResults,
    Entry,
    ResultRow,
    account_created_at,
    competition_ranking,
    shuffled_numbers,
)
from tests.unit.test_contest_setup import contest


def test_ranking_without_ties():
    assert competition_ranking({1: 5, 2: 9, 3: 1}) == [(1, 2, 9), (2, 1, 5), (3, 3, 1)]


def test_ties_share_a_place_and_the_next_is_skipped():
    assert competition_ranking({1: 4, 2: 4, 3: 2}) == [(1, 1, 4), (1, 2, 4), (3, 3, 2)]
    assert competition_ranking({1: 3, 2: 2, 3: 2, 4: 2, 5: 0}) == [
        (1, 1, 3),
        (2, 2, 2),
        (2, 3, 2),
        (2, 4, 2),
        (5, 5, 0),
    ]


def test_everyone_at_zero_shares_first_place():
    assert [p for p, _, _ in competition_ranking({4: 0, 2: 0, 9: 0})] == [1, 1, 1]


def test_within_a_place_keys_keep_the_given_order():
    assert [k for _, k, _ in competition_ranking({3: 1, 1: 1, 2: 1})] == [3, 1, 2]
    assert [k for _, k, _ in competition_ranking({3: 1, 1: 1, 2: 1}, order=[1, 2, 3])] == [1, 2, 3]


def test_empty_ranking():
    assert competition_ranking({}) == []


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.integers(1, 50), st.integers(0, 6), max_size=20))
def test_ranking_is_competition_ranking(votes: dict[int, int]):
    ranked = competition_ranking(votes)
    assert sorted(k for _, k, _ in ranked) == sorted(votes)
    for place, key, count in ranked:
        assert count == votes[key]
        assert place == 1 + sum(v > count for v in votes.values())  # one more than those ahead
    assert [c for _, _, c in ranked] == sorted(votes.values(), reverse=True)


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(1, 10**6), max_size=30), st.integers(0, 2**62))
def test_shuffled_numbers_are_one_to_n_and_depend_only_on_the_seed(ids: set[int], seed: int):
    numbers = shuffled_numbers(ids, seed)
    assert sorted(numbers.values()) == list(range(1, len(ids) + 1))
    assert set(numbers) == ids
    assert shuffled_numbers(sorted(ids, reverse=True), seed) == numbers


def test_shuffled_numbers_are_not_the_order_entered():
    orders = Counter(
        tuple(shuffled_numbers(range(1, 6), seed)[i] for i in range(1, 6)) for seed in range(200)
    )
    assert orders[(1, 2, 3, 4, 5)] < 10 and len(orders) > 50


def entry(entry_id: int, number: int, user: int) -> Entry:
    return Entry(entry_id, 1, number, entry_id, user, "p", None, None, 0.0, None, None, None, None)


def test_results_name_joint_winners_and_ties():
    rows = (
        ResultRow(1, entry(1, 2, 10), 3, True),
        ResultRow(1, entry(2, 4, 11), 3, True),
        ResultRow(3, entry(3, 1, 12), 1, True),
        ResultRow(3, entry(4, 3, 13), 1, True),
        ResultRow(5, entry(5, 5, 14), 0, False),
    )
    results = ContestResults(contest(), rows, ())
    assert [r.entry.user_id for r in results.winners] == [10, 11]
    assert [[r.entry.number for r in tie] for tie in results.ties] == [[2, 4], [1, 3]]
    assert not results.no_entries and not results.no_votes
    assert results.tie_rule == TIE_RULE and "1, 1, 3" in TIE_RULE


def test_nobody_wins_without_votes_and_no_entries_is_said():
    zero = ContestResults(contest(), (ResultRow(1, entry(1, 1, 10), 0, False),), ())
    assert zero.winners == () and zero.no_votes
    assert ContestResults(contest(), (), ()).no_entries


def test_labels():
    assert contest(number=4).label == "Contest #4"
    assert entry(1, 7, 10).label == "Entry 7"
    assert replace(entry(1, 7, 10), number=None).label == "the entry of Job #1"


def test_account_age_from_a_snowflake():
    assert account_created_at(0) == 1_420_070_400.0  # Discord's epoch, 2015-01-01
    # A documented example: 175928847299117063 was created 2016-04-30 11:18:25.796 UTC.
    assert account_created_at(175928847299117063) == 1462015105.796
