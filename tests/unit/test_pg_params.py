"""sqlite's placeholders translated for asyncpg: order, reuse of a name, types spelled out, and
text that only looks like a placeholder left alone."""

from __future__ import annotations

import pytest

from bot.core.domain import JobStatus
from db.pg_params import translate


def test_question_marks_are_numbered_in_order_and_typed_by_value():
    sql, args = translate("UPDATE t SET a = ?, b = ?, c = ? WHERE id = ?", (1, 2.5, "x", None))
    assert sql == "UPDATE t SET a = $1::int8, b = $2::float8, c = $3::text WHERE id = $4"
    assert args == [1, 2.5, "x", None]


def test_a_name_used_twice_is_one_parameter():
    sql, args = translate(
        "SELECT :g + :cost WHERE x = :g AND CAST(:budget AS BIGINT) IS NULL",
        {"g": 5, "cost": 2, "budget": None, "unused": 1},
    )
    assert sql == "SELECT $1::int8 + $2::int8 WHERE x = $1::int8 AND CAST($3 AS BIGINT) IS NULL"
    assert args == [5, 2, None]


def test_literals_casts_and_comments_are_not_placeholders():
    sql, args = translate(
        "SELECT 'a ? :b', params::jsonb ->> 'k', \"odd?name\" -- what? :c\nFROM t WHERE y = ?",
        (True,),
    )
    assert sql.endswith("FROM t WHERE y = $1::int8")
    assert "'a ? :b'" in sql and "params::jsonb" in sql and "-- what? :c" in sql
    assert args == [1]  # booleans are stored as 0/1, as in sqlite


def test_string_enums_are_sent_as_their_value():
    _, args = translate("SELECT ?", (JobStatus.QUEUED,))
    assert args == ["queued"] and type(args[0]) is str


@pytest.mark.parametrize(
    ("sql", "params"),
    [("SELECT ?, ?", (1,)), ("SELECT ?", (1, 2)), ("SELECT :a", (1,)), ("SELECT ?", {"a": 1})],
)
def test_a_mismatch_between_placeholders_and_values_is_an_error(sql: str, params: object):
    with pytest.raises(ValueError):
        translate(sql, params)  # type: ignore[arg-type]
