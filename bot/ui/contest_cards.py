"""What a contest looks like on Discord: the announcement card, the reveal posts, the results.

Texts come from `bot.core.contests.messages` where the core has them; this module adds what only
Discord has (timestamps, mentions, embeds) and fits everything to Discord's limits. Member text
(titles, themes, prompts) is sent with mentions neutralised and `AllowedMentions.none()`; the
results ping the winners and nobody else.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.core.contests import Contest, ContestResults, Entry, Phase, ResultRow
from bot.core.contests import messages as m
from bot.core.contests.domain import TIE_RULE
from bot.ui.budget import (
    EMBED_DESCRIPTION_CHARS,
    FIELD_VALUE_CHARS,
    MESSAGE_CHARS,
    clip,
    excerpt,
    fit_lines,
)

NO_MENTIONS = discord.AllowedMentions.none()
COLOURS = {
    Phase.SUBMISSIONS: discord.Colour.blurple(),
    Phase.VOTING: discord.Colour.gold(),
    Phase.CLOSED: discord.Colour.green(),
    Phase.CANCELLED: discord.Colour.dark_grey(),
}
TITLE_CHARS = 256
PROMPT_CHARS = 1200
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


def neutral(text: str) -> str:
    """Member text that cannot look like (or be) a ping: @everyone, <@id>, <@&role>."""
    return discord.utils.escape_mentions(text)


def when(at: float) -> str:
    """A Discord timestamp: the reader's own time zone, and how long from now."""
    return f"<t:{int(at)}:f> (<t:{int(at)}:R>)"


def ordinal(place: int) -> str:
    suffix = "th" if 10 <= place % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(place % 10, "th")
    return f"{place}{suffix}"


def announcement(contest: Contest) -> discord.Embed:
    """The card in the contest channel, edited as the contest moves on."""
    title = clip(f"{contest.label}: {contest.title}", TITLE_CHARS)
    embed = discord.Embed(
        title=neutral(title),
        description=clip(neutral(contest.theme), EMBED_DESCRIPTION_CHARS),
        colour=COLOURS[contest.phase],
    )
    embed.add_field(name="Now", value=_now(contest), inline=False)
    if contest.phase is Phase.SUBMISSIONS:
        embed.add_field(name="Submissions close", value=when(contest.submissions_close_at))
        embed.add_field(name="Voting closes", value=when(contest.voting_close_at))
        embed.add_field(name="How to enter", value=m.how_to_enter(contest), inline=False)
    elif contest.phase is Phase.VOTING:
        embed.add_field(name="Voting closes", value=when(contest.voting_close_at))
        embed.add_field(name="Votes cast", value=str(contest.votes_cast))
    elif contest.phase is Phase.CLOSED:
        embed.add_field(name="Votes cast", value=str(contest.votes_cast))
    rules = "\n".join(f"• {line}" for line in m.rules(contest))
    embed.add_field(name="Rules", value=clip(rules, FIELD_VALUE_CHARS), inline=False)
    embed.set_footer(text=f"{contest.label} · every answer about it names this number")
    return embed


def _now(contest: Contest) -> str:
    text = m.phase_text(contest)
    if contest.phase is Phase.VOTING:
        text += " Press **Vote** under the entries below; counts stay hidden until the end."
    elif contest.phase is Phase.CLOSED and contest.ended_at is not None:
        text += f" Ended <t:{int(contest.ended_at)}:f>."
    elif contest.phase is Phase.CANCELLED and contest.cancel_reason:
        text += f" Reason: {neutral(excerpt(contest.cancel_reason, 300))}"
    return text


def voting_open(contest: Contest, count: int) -> str:
    entries = m.plural(count, "entry", "entries")
    return clip(
        f"**Voting is open in {contest.label}: {neutral(excerpt(contest.title, 100))}**\n"
        f"Submissions are closed. Here {'is' if count == 1 else 'are'} the {entries}, in a "
        "shuffled order and without their authors. Press **Vote** under the ones you like: "
        f"each member has {m.plural(contest.votes_per_member, 'vote')}, at most one per entry, "
        f"none for their own. Voting closes {when(contest.voting_close_at)}.",
        MESSAGE_CHARS,
    )


def entry_content(contest: Contest, entry: Entry) -> str:
    """A reveal post: the number, the prompt and the video; never the author."""
    head = f"**{entry.label}** · {contest.label}"
    video = entry.video_url or "(the video is no longer available)"
    room = MESSAGE_CHARS - len(head) - len(video) - 8
    prompt = clip(neutral(entry.prompt), max(min(room, PROMPT_CHARS), 0))
    quoted = "\n".join(f"> {line}" for line in prompt.splitlines() or [""])
    text = f"{head}\n{quoted}\n{video}"
    if entry.disqualified:
        reason = neutral(excerpt(entry.disqualify_reason or "", 200))
        text = f"~~{head}~~ (disqualified: {reason})\n{quoted}"
    return clip(text, MESSAGE_CHARS)


def no_entries(contest: Contest) -> str:
    return m.no_entries(contest)


def cancelled(contest: Contest) -> str:
    why = (
        f" Reason: {neutral(excerpt(contest.cancel_reason, 300))}" if contest.cancel_reason else ""
    )
    return f"{contest.label} was cancelled by a moderator; it has no results.{why}"


def _row_line(row: ResultRow) -> str:
    medal = MEDALS.get(row.place, "") if row.votes else ""
    place = f"{ordinal(row.place)}{' (tie)' if row.tied else ''}"
    line = f"**{place}** · {row.entry.label} · <@{row.entry.user_id}> · "
    line += m.plural(row.votes, "vote")
    return f"{medal} {line}" if medal else line


def _ties(results: ContestResults) -> list[str]:
    lines = []
    for group in results.ties:
        names = ", ".join(r.entry.label for r in group[:-1]) + f" and {group[-1].entry.label}"
        votes = m.plural(group[0].votes, "vote")
        lines.append(f"{names} tie for {ordinal(group[0].place)} place with {votes} each.")
    return lines


def results_message(results: ContestResults) -> tuple[str, discord.AllowedMentions]:
    """The results post (and /contest results): one line per entry in rank order, the ties
    said plainly, the winning video; the winners are pinged, other authors only named."""
    contest = results.contest
    if results.no_entries:
        return no_entries(contest), NO_MENTIONS
    head = f"**Results of {contest.label}: {neutral(excerpt(contest.title, 100))}**"
    winners = results.winners
    if not winners:
        verdict = "No votes were cast, so nobody wins."
    elif len(winners) == 1:
        verdict = f"The winner is {winners[0].entry.label} by <@{winners[0].entry.user_id}>!"
    else:
        names = " and ".join(f"{r.entry.label} by <@{r.entry.user_id}>" for r in winners)
        verdict = f"Joint winners: {names}!"
    tail = _ties(results)
    if results.ties:
        tail.append(TIE_RULE)
    if results.disqualified:
        gone = "; ".join(
            f"{e.label} ({neutral(excerpt(e.disqualify_reason or '', 80))})"
            for e in results.disqualified
        )
        tail.append(f"Disqualified: {gone}.")
    videos = [r.entry.video_url for r in winners if r.entry.video_url][:3]
    fixed = "\n".join([head, verdict, *tail, *videos])
    room = MESSAGE_CHARS - len(fixed) - 2
    lines = fit_lines([_row_line(r) for r in results.rows], max(room, 0))
    parts = [head, verdict, lines, *tail, *videos]
    text = clip("\n".join(p for p in parts if p), MESSAGE_CHARS)
    pinged = [discord.Object(r.entry.user_id) for r in winners]
    return text, discord.AllowedMentions(everyone=False, roles=False, users=pinged)


def contest_line(contest: Contest) -> str:
    """One line of /contest list."""
    deadline = contest.deadline
    status = {
        Phase.SUBMISSIONS: "entries open",
        Phase.VOTING: "voting",
        Phase.CLOSED: "ended",
        Phase.CANCELLED: "cancelled",
    }[contest.phase]
    until = f", until <t:{int(deadline)}:R>" if deadline is not None else ""
    title = neutral(excerpt(contest.title, 80))
    return f"**{contest.label}** · {title} · {status}{until} · <#{contest.channel_id}>"


def list_text(contests: list[Contest]) -> str:
    if not contests:
        return (
            "There are no contests in this server yet. A moderator starts one with /contest create."
        )
    return fit_lines([contest_line(c) for c in contests], MESSAGE_CHARS)


def message_link(guild_id: int, channel_id: int, message_id: int | None) -> str:
    if message_id is None:
        return f"<#{channel_id}>"
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def send_kwargs(content: str, mentions: discord.AllowedMentions = NO_MENTIONS) -> dict[str, Any]:
    return {"content": content, "allowed_mentions": mentions}
