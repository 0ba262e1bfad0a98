"""/jobs list and /jobs queue: pages of an embed that fit Discord's limits whatever the data,
with Previous / Next buttons that keep working after a restart (`DynamicItem`s whose custom_id,
`jobs:page:<list|queue>:<page>`, says what to show)."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord

from bot.core.domain import Job
from bot.core.errors import NotAllowed, UserFacingError
from bot.services import Services
from bot.ui.budget import EMBED_DESCRIPTION_CHARS, clip, excerpt, fit_lines
from bot.ui.cards import status_line
from bot.ui.checks import moderator_rights, reply_ephemeral

PAGE_SIZE = 10
PROMPT_CHARS = 60
LINE_CHARS = 380  # a page of ten lines always fits an embed's 4,096 characters
NO_JOBS = "You have not made any videos here yet: try /video."
EMPTY_QUEUE = "Nothing is queued or running in this server."
NOT_A_MODERATOR = "Only moderators can see the whole server's queue."


@dataclass(frozen=True)
class Reply:
    """One page as message fields: plain text when there is nothing to list, else an embed."""

    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None

    def fields(self) -> dict[str, Any]:
        return {"content": self.content, "embed": self.embed, "view": self.view}


def job_link(job: Job) -> str:
    """The job's result message, else its card."""
    message_id = job.result_message_id or job.card_message_id
    if message_id is None:
        return ""
    return f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{message_id}"


def job_line(job: Job, *, author: bool = False) -> str:
    prompt = discord.utils.escape_markdown(excerpt(job.prompt, PROMPT_CHARS))
    link = job_link(job)
    line = f"**#{job.id}** <t:{int(job.created_at)}:R> · {status_line(job)} · “{prompt}”"
    line += f" · {link}" if link else ""
    line += f" · by <@{job.user_id}>" if author else ""
    return clip(line, LINE_CHARS)


async def list_page(services: Services, interaction: discord.Interaction[Any], page: int) -> Reply:
    """The member's own videos in this server, newest first."""
    assert interaction.guild_id is not None
    guild_id, user_id = interaction.guild_id, interaction.user.id
    jobs, total = await services.jobs.history(
        guild_id, user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    if total == 0:
        return Reply(content=NO_JOBS)
    last = _last_page(total)
    if page > last:  # the list shrank since the buttons were drawn
        page = last
        jobs, total = await services.jobs.history(
            guild_id, user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )
    lines = [job_line(j) for j in jobs]
    footer = f"{_counted(total, 'video')}, newest first"
    return _page("list", "Your videos in this server", lines, page, total, footer)


async def queue_page(services: Services, interaction: discord.Interaction[Any], page: int) -> Reply:
    """Queued and running jobs in the channels where the caller moderates, oldest first."""
    assert interaction.guild_id is not None
    rights = await moderator_rights(services, interaction)
    if not rights.anywhere:
        raise NotAllowed(NOT_A_MODERATOR)
    everything = await services.jobs.open_in_guild(interaction.guild_id)
    visible = [j for j in everything if rights.over(j.channel_id)]
    scope = "" if len(visible) == len(everything) else " · only channels where you moderate"
    if not visible:
        return Reply(content=EMPTY_QUEUE)
    page = min(page, _last_page(len(visible)))
    shown = visible[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [job_line(j, author=True) for j in shown]
    footer = f"{_counted(len(visible), 'job')}, oldest first{scope}"
    return _page("queue", "Queued and running in this server", lines, page, len(visible), footer)


def _page(kind: str, title: str, lines: list[str], page: int, total: int, footer: str) -> Reply:
    pages = _last_page(total) + 1
    embed = discord.Embed(title=title, description=fit_lines(lines, EMBED_DESCRIPTION_CHARS))
    embed.set_footer(text=f"Page {page + 1} of {pages} · {footer}" if pages > 1 else footer)
    if pages == 1:
        return Reply(embed=embed)
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton(kind, max(page - 1, 0), "Previous", disabled=page == 0))
    view.add_item(PageButton(kind, min(page + 1, pages - 1), "Next", disabled=page == pages - 1))
    return Reply(embed=embed, view=view)


def _last_page(total: int) -> int:
    return max(math.ceil(total / PAGE_SIZE) - 1, 0)


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


Renderer = Callable[[Services, discord.Interaction[Any], int], Awaitable[Reply]]
RENDERERS: dict[str, Renderer] = {"list": list_page, "queue": queue_page}


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"jobs:page:(?P<kind>list|queue):(?P<page>[0-9]{1,6})",
):
    def __init__(self, kind: str, page: int, label: str, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"jobs:page:{kind}:{page}",
                disabled=disabled,
            )
        )
        self.kind = kind
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PageButton:
        return cls(match["kind"], int(match["page"]), "")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.guild_id is None:
            return
        services: Services = interaction.client.services
        try:
            reply = await RENDERERS[self.kind](services, interaction, self.page)
        except UserFacingError as exc:
            await reply_ephemeral(interaction, exc.message)
            return
        await interaction.response.edit_message(**reply.fields())
