"""sqlite's placeholders (`?` in order, or `:name`) turned into asyncpg's `$1, $2, ...`.

Each placeholder whose value is known gets that value's type spelled out (`$1::int8`): PostgreSQL
fixes every parameter's type when it plans a statement and cannot guess it from `:a + :b` or
`:x IS NULL`, where sqlite never asks. A None stays untyped and takes its type from where it
stands (a column it is stored in or compared with); where nothing says, the SQL says
`CAST(:x AS BIGINT)`, which means the same on both engines.

String literals, quoted names, comments and `::` casts are left alone, so a `?` or `:word` inside
them is not a parameter.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from db.sql import Params

_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|::|:([A-Za-z_]\w*)|\?""")


def translate(sql: str, params: Params) -> tuple[str, list[Any]]:
    """The statement for asyncpg and its arguments in order."""
    named = params if isinstance(params, dict) else None
    positional = [] if named is not None else list(params)
    args: list[Any] = []
    casts: list[str] = []
    slots: dict[str, int] = {}
    used = 0

    def add(value: Any) -> int:
        value = _plain(value)
        args.append(value)
        casts.append(_cast(value))
        return len(args)

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        token = match.group(0)
        if token == "?":
            if named is not None or used >= len(positional):
                raise ValueError(f"a ? without a value in: {sql}")
            used += 1
            slot = add(positional[used - 1])
        elif match.group(1) is not None:
            name = match.group(1)
            if named is None:
                raise ValueError(f":{name} needs named parameters in: {sql}")
            if name not in slots:
                slots[name] = add(named[name])
            slot = slots[name]
        else:
            return token
        return f"${slot}{casts[slot - 1]}"

    text = _TOKENS.sub(replace, sql)
    if used != len(positional):
        raise ValueError(f"{len(positional)} values for {used} placeholders in: {sql}")
    return text, args


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)  # sqlite stores booleans as 0/1; so do these columns
    if isinstance(value, enum.Enum) and isinstance(value, str):
        return value.value
    return value


def _cast(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return "::int8"
    if isinstance(value, float):
        return "::float8"
    if isinstance(value, str):
        return "::text"
    if isinstance(value, bytes):
        return "::bytea"
    raise TypeError(f"no PostgreSQL type for a parameter of type {type(value).__name__}")
