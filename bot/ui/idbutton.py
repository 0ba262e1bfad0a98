"""A button whose custom_id is a fixed prefix and a row id (`job:cancel:<id>`): a DynamicItem,
so discord.py routes any matching press to it after a restart, with no live View."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

import discord


class IdButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """Subclasses say `prefix=` in their class line and pass their looks to `__init__`; the
    base builds the custom_id, its template and `from_custom_id`."""

    prefix: ClassVar[str]

    def __init_subclass__(cls, *, prefix: str) -> None:
        super().__init_subclass__(template=re.escape(prefix) + r"(?P<id>[0-9]{1,20})")
        cls.prefix = prefix

    def __init__(self, row_id: int, *, label: str, emoji: str, style: discord.ButtonStyle) -> None:
        button = discord.ui.Button[Any](
            label=label, style=style, custom_id=f"{self.prefix}{row_id}", emoji=emoji
        )
        super().__init__(button)
        self.row_id = row_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(int(match["id"]))  # type: ignore[call-arg]  # subclasses take the id alone
