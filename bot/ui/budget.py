"""Discord's length limits, and the one place where text built from data is made to fit them.

A reply over a limit is refused with HTTP 400 and the member sees "the application did not
respond"; so anything that grows with the data (lists, prompts, provider errors) goes through
`clip` or `fit_lines` before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

MESSAGE_CHARS = 2000
EMBED_DESCRIPTION_CHARS = 4096
FIELD_VALUE_CHARS = 1024
CHOICE_NAME_CHARS = 100


def clip(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(text: str, limit: int) -> str:
    """One line of user text: newlines folded, cut to `limit`."""
    return clip(" ".join(text.split()), limit)


def _and_more(left_out: int) -> str:
    return f"…and {left_out} more not shown."


def fit_lines(lines: Sequence[str], limit: int, more: Callable[[int], str] = _and_more) -> str:
    """As many whole lines as fit in `limit`, plus a note of how many were left out."""
    for keep in range(len(lines), 0, -1):
        shown = [*lines[:keep], more(len(lines) - keep)] if keep < len(lines) else lines
        text = "\n".join(shown)
        if len(text) <= limit:
            return text
    return clip(more(len(lines)), limit) if lines else ""
