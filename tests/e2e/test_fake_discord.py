"""Tests of the fake Discord itself, driving a tiny unmodified discord.py bot through it.

Each Discord rule the fake enforces is shown biting here, with small deadlines and lifetimes
set through `fake.rules` so the whole file stays fast.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    MIB,
    VIEW_CHANNEL,
    Channel,
    FakeDiscord,
    Guild,
    Member,
    Upload,
)

UPLOAD_LIMIT = 4096
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
ATTACH_FILES = 1 << 15
# What discord.py's TextChannel.permissions_for can be compared on: it drops voice permissions
# in text channels and, without View Channel, only the channel-specific ones.
TEXT_CHANNEL_BITS = discord.Permissions.all_channel().value & ~discord.Permissions.voice().value


class CancelButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"job:cancel:(?P<id>\d+)"
):
    def __init__(self, job_id: int) -> None:
        super().__init__(discord.ui.Button(label="Cancel", custom_id=f"job:cancel:{job_id}"))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> CancelButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content=f"cancelled {self.job_id}", view=None)


class Feedback(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Text", custom_id="text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class Picker(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.select(custom_id="size", options=[discord.SelectOption(label=s) for s in "SML"])
    async def size(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        await interaction.response.defer()
        await interaction.followup.send(f"picked {select.values[0]}", ephemeral=True)


class TinyBot(commands.Bot):
    """Commands that report what happened to them through `reported(key)`."""

    def __init__(self) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
        )
        self._reports: dict[str, asyncio.Future[Any]] = {}

    def report(self, key: str, value: Any) -> None:
        future = self._reports.setdefault(key, asyncio.get_running_loop().create_future())
        if not future.done():
            future.set_result(value)

    async def reported(self, key: str) -> Any:
        future = self._reports.setdefault(key, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(future, 5)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        pass  # discord.py sleeps 5 s before every re-IDENTIFY; the fake has no such limit

    async def on_raw_message_delete(self, event: discord.RawMessageDeleteEvent) -> None:
        self.report(f"deleted:{event.message_id}", event.channel_id)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        self.report(f"channel_deleted:{channel.id}", channel.name)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.report(f"guild_removed:{guild.id}", guild.name)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.report(f"guild_joined:{guild.id}", guild.name)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CancelButton)
        tree = self.tree

        @tree.command(description="Make a video")
        async def video(interaction: discord.Interaction, prompt: str) -> None:
            await interaction.response.defer(thinking=True)
            view = discord.ui.View(timeout=None).add_item(CancelButton(12))
            await interaction.edit_original_response(content=f"video: {prompt}", view=view)

        @tree.command(description="A secret")
        async def secret(interaction: discord.Interaction) -> None:
            sent = await interaction.response.send_message("only you", ephemeral=True)
            self.report("secret", sent.message_id)

        @tree.command(description="Report the permissions Discord sent")
        async def perms(interaction: discord.Interaction) -> None:
            assert isinstance(interaction.user, discord.Member)
            seen = (
                interaction.permissions.value,
                interaction.app_permissions.value,
                interaction.user.resolved_permissions,
            )
            self.report(f"perms:{interaction.id}", seen)
            await interaction.response.send_message("ok", ephemeral=True)

        @tree.command(description="Send a file")
        async def upload(interaction: discord.Interaction, size: int) -> None:
            self.report("filesize_limit", interaction.filesize_limit)
            await interaction.response.defer()
            clip = discord.File(io.BytesIO(b"v" * size), "clip.mp4")
            try:
                await interaction.followup.send("here", file=clip)
            except discord.HTTPException as exc:
                self.report("upload", exc)

        @tree.command(description="Reply late")
        async def late(interaction: discord.Interaction, delay: float) -> None:
            await asyncio.sleep(delay)
            try:
                await interaction.response.send_message("finally")
            except discord.HTTPException as exc:
                self.report("late", exc)

        @tree.command(description="Outlive the token")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            self.report("expires_at", interaction.expires_at)
            left = (interaction.expires_at - discord.utils.utcnow()).total_seconds()
            await asyncio.sleep(max(0.0, left) + 0.1)
            try:
                await interaction.edit_original_response(content="done")
            except discord.HTTPException as exc:
                self.report("slow", exc)

        @tree.command(description="Pick a size")
        @app_commands.choices(size=[app_commands.Choice(name=n, value=n) for n in ("s", "m")])
        async def pick(interaction: discord.Interaction, size: str) -> None:
            await interaction.response.send_message(f"size={size}")

        @tree.command(description="Moderators only")
        @app_commands.default_permissions(manage_messages=True)
        @app_commands.guild_only()
        async def purge(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("purged", ephemeral=True)

        @tree.command(description="Feedback form")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(Feedback())

        @tree.command(description="Touch many discord.py calls")
        async def tour(
            interaction: discord.Interaction,
            who: discord.Member,
            where: discord.TextChannel,
            pic: discord.Attachment,
        ) -> None:
            self.report("args", (who.name, where.name, await pic.read()))
            await interaction.response.send_message("card", view=Picker())
            card = await interaction.original_response()
            private = await interaction.followup.send("private", ephemeral=True, wait=True)
            await private.edit(content="private, edited")
            public = await interaction.followup.send("public", wait=True)
            await public.delete()
            assert isinstance(interaction.channel, discord.TextChannel) and interaction.guild
            await (await interaction.channel.fetch_message(card.id)).add_reaction("👍")
            history = [m.content async for m in interaction.channel.history(limit=10)]
            member = await interaction.guild.fetch_member(who.id)
            await (await interaction.user.create_dm()).send("dm")
            partial = self.get_partial_messageable(where.id).get_partial_message(card.id)
            await partial.edit(content="card, edited by the bot token")
            self.report("tour", (history, member.name))

        jobs = app_commands.Group(name="jobs", description="Your jobs")

        @jobs.command(name="show", description="Show a job")
        async def show(interaction: discord.Interaction, job: str) -> None:
            await interaction.response.send_message(f"job {job}", ephemeral=True)

        @show.autocomplete("job")
        async def job_choices(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=f"job {n}", value=n)
                for n in ("12", "13", "21")
                if n.startswith(current)
            ]

        tree.add_command(jobs)


@dataclass
class Scene:
    guild: Guild
    channel: Channel
    alice: Member
    bob: Member


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.patch_discord()
        yield fake
        assert fake.unhandled == [], "the bot called routes the fake does not know"


@pytest.fixture
def scene(fake: FakeDiscord) -> Scene:
    guild = fake.add_guild("Studio", upload_limit=UPLOAD_LIMIT)
    channel = guild.add_text_channel("general")
    mods = guild.add_role("mods", ADMINISTRATOR)
    return Scene(guild, channel, guild.add_member("alice", roles=[mods]), guild.add_member("bob"))


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Until `check()` is truthy: the bot's cache follows the gateway a moment later."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := check()):
        if loop.time() > deadline:
            raise AssertionError(f"not met within {timeout} s")
        await asyncio.sleep(0.01)
    return result


async def start_bot(fake: FakeDiscord) -> tuple[TinyBot, asyncio.Task[None]]:
    bot = TinyBot()
    task = asyncio.create_task(bot.start(fake.token))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what went wrong
    assert ready in done, "the bot never became ready"
    return bot, task


@pytest.fixture
async def bot(fake: FakeDiscord, scene: Scene) -> AsyncIterator[TinyBot]:
    bot, task = await start_bot(fake)
    await bot.tree.sync()
    yield bot
    await bot.close()
    await task


async def test_login_ready_and_guild_visible(fake: FakeDiscord, scene: Scene, bot: TinyBot) -> None:
    assert bot.user is not None and bot.user.id == fake.bot_user.id
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None and guild.name == "Studio"
    assert [c.name for c in guild.text_channels] == ["general"]
    assert guild.me is not None and guild.me.guild_permissions.attach_files
    assert guild.filesize_limit == 10 * 1024 * 1024  # tier 0 (Discord's floor)
    routes = {c.route for c in fake.calls}
    assert {"GET /users/@me", "GET /oauth2/applications/@me"} <= routes
    assert all(c.via == "bot" for c in fake.calls)


async def test_command_sync_is_stored_guild_and_global(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    synced = {c["name"]: c for c in fake.commands()}
    assert {"video", "jobs", "pick"} <= set(synced)
    assert synced["jobs"]["options"][0]["type"] == 1  # subcommand
    assert synced["pick"]["options"][0]["choices"][0] == {"name": "s", "value": "s"}
    first_ids = {name: c["id"] for name, c in synced.items()}
    await bot.tree.sync()
    assert {c["name"]: c["id"] for c in fake.commands()} == first_ids  # ids survive re-sync
    target = discord.Object(scene.guild.id)
    bot.tree.copy_global_to(guild=target)
    await bot.tree.sync(guild=target)
    assert {c["guild_id"] for c in fake.commands(scene.guild)} == {str(scene.guild.id)}
    # Discord refuses more than 25 choices (discord.py does not check before syncing).
    too_many = [app_commands.Choice(name=str(n), value=n) for n in range(26)]

    @app_commands.command(description="Too many")
    @app_commands.choices(n=too_many)
    async def many(interaction: discord.Interaction, n: int) -> None: ...

    bot.tree.add_command(many)
    with pytest.raises(discord.HTTPException) as caught:
        await bot.tree.sync()
    assert caught.value.code == 50035


async def test_defer_then_edit_original_is_seen_by_the_member(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    handle = await fake.invoke(scene.alice, scene.channel, "video", {"prompt": "a cat"})
    assert (await handle.response()).type == 5
    original = await handle.wait_original(lambda m: m.content == "video: a cat")
    assert not original.loading and not original.ephemeral
    assert original in fake.messages(scene.channel, visible_to=scene.bob)
    assert [v.content for v in original.history] == ["", "video: a cat"]
    assert original.history[0].flags & 128  # it was "thinking" first
    assert original.interaction is not None
    assert original.interaction["user"]["id"] == str(scene.alice.id)
    assert original.custom_ids() == ["job:cancel:12"]
    webhook_calls = [c for c in fake.calls if c.via == "interaction"]
    assert [c.route for c in webhook_calls] == [
        "POST /interactions/{webhook_id}/{webhook_token}/callback",
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ]


async def test_ephemeral_reply_is_invisible_to_others_and_unknown_via_the_channel(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    handle = await fake.invoke(scene.alice, scene.channel, "secret")
    message_id = await bot.reported("secret")
    assert handle.original is not None and handle.original.id == message_id
    assert handle.original.ephemeral
    assert handle.original in fake.messages(scene.channel, visible_to=scene.alice)
    assert handle.original not in fake.messages(scene.channel, visible_to=scene.bob)
    channel = bot.get_partial_messageable(scene.channel.id)
    with pytest.raises(discord.NotFound) as caught:
        await channel.get_partial_message(message_id).edit(content="edited by bot token")
    assert caught.value.code == 10008


async def test_followup_with_a_file_is_stored_and_downloadable(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    handle = await fake.invoke(scene.alice, scene.channel, "upload", {"size": 100})
    assert await bot.reported("filesize_limit") == UPLOAD_LIMIT
    message = await handle.wait_original(lambda m: m.content == "here")
    # The first followup after a "thinking" defer replaces the loading message, as on Discord.
    assert handle.followups == [] and message.attachments[0].filename == "clip.mp4"
    assert message.attachments[0].content == b"v" * 100
    channel = bot.get_channel(scene.channel.id)
    assert isinstance(channel, discord.TextChannel)
    fetched = await channel.fetch_message(message.id)
    assert await fetched.attachments[0].read() == b"v" * 100


async def test_dynamic_button_press_reaches_the_bot(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    handle = await fake.invoke(scene.alice, scene.channel, "video", {"prompt": "x"})
    card = await handle.wait_original(lambda m: bool(m.custom_ids()))
    press = await fake.press(scene.bob, card, "job:cancel:12")
    assert (await press.response()).type == 7
    assert card.content == "cancelled 12" and card.components == []
    with pytest.raises(ValueError):
        await fake.press(scene.bob, card, "job:cancel:12")  # the button is gone


async def test_autocomplete_subcommand_and_raw_options(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    choices = await fake.autocomplete(
        scene.alice, scene.channel, "jobs", {"job": "1"}, focused="job", subcommand="show"
    )
    assert [c["value"] for c in choices] == ["12", "13"]
    shown = await fake.invoke(scene.alice, scene.channel, "jobs", {"job": "12"}, subcommand="show")
    assert (await shown.wait_original()).content == "job 12"
    with pytest.raises(ValueError):
        await fake.invoke(scene.alice, scene.channel, "pick", {"size": "xl"})
    raw = [{"name": "size", "type": 3, "value": "xl"}]  # what a modified client can send
    picked = await fake.invoke(scene.alice, scene.channel, "pick", raw_options=raw)
    assert (await picked.wait_original()).content == "size=xl"


async def test_common_discord_py_calls_round_trip(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    fake.rules.webhook_bucket_window = 0.3  # small, so pacing is exercised but quick
    pic = Upload("cat.png", b"PNG...", "image/png")
    options = {"who": scene.bob, "where": scene.channel, "pic": pic}
    handle = await fake.invoke(scene.alice, scene.channel, "tour", options)
    assert await bot.reported("args") == ("bob", "general", b"PNG...")
    history, member_name = await bot.reported("tour")
    assert history == ["card"] and member_name == "bob"
    card = handle.original
    assert card is not None and card.content == "card, edited by the bot token"
    assert card.reactions == {"👍": {fake.bot_user.id}}
    assert [m.content for m in handle.followups if not m.deleted] == ["private, edited"]
    assert [m.content for m in fake.messages(scene.channel, visible_to=scene.bob)] == [card.content]
    assert [m.content for m in fake.dm_messages(scene.alice)] == ["dm"]
    picked = await fake.press(scene.bob, card, "size", values=["M"])
    assert (
        await picked.wait_original(lambda m: not m.loading)
    ).content == "card, edited by the bot token"
    followup = await fake.wait_for(lambda: picked.followups)
    assert followup[0].content == "picked M" and followup[0].visible_to == frozenset({scene.bob.id})
    assert fake.count_429s() == 0


async def test_member_messages_arrive_blank_without_the_content_intent(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    seen = asyncio.create_task(bot.wait_for("message", timeout=5))
    await fake.say(scene.alice, scene.channel, "hello bot")
    message = await seen
    assert message.author.id == scene.alice.id and message.content == ""


async def test_commands_are_usable_only_where_discord_shows_them(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    with pytest.raises(PermissionError):
        await fake.invoke(scene.bob, scene.channel, "purge")
    with pytest.raises(PermissionError):
        await fake.invoke(scene.alice, fake.dm_channel(scene.alice), "purge")
    handle = await fake.invoke(scene.alice, scene.channel, "purge")  # alice is an admin
    assert (await handle.wait_original()).content == "purged"
    in_dm = await fake.invoke(scene.bob, fake.dm_channel(scene.bob), "secret")
    assert (await in_dm.wait_original()).content == "only you"
    assert in_dm.payload["context"] == 1 and "member" not in in_dm.payload


async def test_modal_submit(fake: FakeDiscord, scene: Scene, bot: TinyBot) -> None:
    shown = await fake.invoke(scene.alice, scene.channel, "feedback")
    assert (await shown.response()).type == 9
    submitted = await fake.submit_modal(scene.alice, shown, {"text": "great"})
    assert (await submitted.wait_original()).content == "thanks: great"


async def test_late_first_response_gets_unknown_interaction(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    fake.rules.response_deadline = 0.2
    handle = await fake.invoke(scene.alice, scene.channel, "late", {"delay": 0.4})
    error = await bot.reported("late")
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert (await handle.response()).status == 404
    assert handle.original is None
    # The token of an interaction never acknowledged is no webhook at all.
    url = f"{fake.api_base}/webhooks/{fake.application_id}/{handle.token}"
    async with aiohttp.ClientSession() as http, http.post(url, json={"content": "x"}) as r:
        assert r.status == 404 and (await r.json())["code"] == 10015


async def test_expired_token_gets_invalid_webhook_token(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    fake.rules.token_lifetime = 0.5
    handle = await fake.invoke(scene.alice, scene.channel, "slow")
    expires_at: datetime.datetime = await bot.reported("expires_at")
    assert abs((expires_at - handle.expires_at).total_seconds()) < 0.002
    assert (expires_at - discord.utils.utcnow()).total_seconds() < 0.6
    error = await bot.reported("slow")
    assert isinstance(error, discord.HTTPException) and error.status == 401
    assert error.code == 50027


async def test_raw_burst_ignoring_headers_gets_429s_with_via(
    fake: FakeDiscord, scene: Scene
) -> None:
    url = f"{fake.api_base}/channels/{scene.channel.id}/messages"
    auth = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.post(url, json={"content": "0"}) as created:
            assert created.headers["Content-Type"] == "application/json"
            assert created.headers["X-RateLimit-Limit"] == "5"
            message_id = (await created.json())["id"]
        statuses, limited = [], []
        for n in range(8):
            async with http.patch(f"{url}/{message_id}", json={"content": str(n)}) as r:
                statuses.append(r.status)
                if r.status == 429:
                    limited.append((r.headers, await r.json()))
    assert statuses.count(200) == 4 and statuses.count(429) == 4  # the POST used one
    headers, body = limited[0]
    assert headers["Via"] == "1.1 google" and float(headers["X-RateLimit-Reset-After"]) > 0
    assert body["retry_after"] > 0 and body["global"] is False
    assert fake.count_429s() == 4


async def test_discord_py_pacing_gets_no_429s(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    fake.rules.message_bucket_limit, fake.rules.message_bucket_window = 3, 0.5
    channel = bot.get_channel(scene.channel.id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("0")
    await asyncio.gather(*(message.edit(content=str(n)) for n in range(1, 8)))
    assert fake.count_429s() == 0
    assert len(fake.message(message.id).history) == 8


async def test_raw_bot_token_burst_across_channels_gets_global_429s(
    fake: FakeDiscord, scene: Scene
) -> None:
    fake.rules.global_window = 30.0  # the default 50 requests, in a window that cannot roll over
    channels = [scene.guild.add_text_channel(f"c{n}") for n in range(60)]
    auth = {"Authorization": f"Bot {fake.token}"}

    async def post(http: aiohttp.ClientSession, channel: Channel) -> tuple[int, Any, Any]:
        url = f"{fake.api_base}/channels/{channel.id}/messages"
        async with http.post(url, json={"content": "hi"}) as r:
            return r.status, r.headers, await r.json()

    async with aiohttp.ClientSession(headers=auth) as http:
        answers = await asyncio.gather(*(post(http, c) for c in channels))
        statuses = [status for status, _, _ in answers]
        assert statuses.count(200) == 50 and statuses.count(429) == 10
        _, headers, body = next(a for a in answers if a[0] == 429)
        assert set(body) == {"message", "retry_after", "global"}
        assert body["message"] == "You are being rate limited." and body["global"] is True
        assert 0 < body["retry_after"] <= 30
        assert headers["X-RateLimit-Global"] == "true"
        assert headers["X-RateLimit-Scope"] == "global"
        assert headers["Via"] == "1.1 google"
        assert int(headers["Retry-After"]) >= body["retry_after"]
        assert "X-RateLimit-Bucket" not in headers  # no route bucket was touched
        _, ok_headers, _ = next(a for a in answers if a[0] == 200)
        assert "X-RateLimit-Global" not in ok_headers and ok_headers["X-RateLimit-Limit"] == "5"
        # Other routes share the one global window; switched off, the rule lets them through.
        async with http.get(f"{fake.api_base}/users/@me") as me:
            assert me.status == 429 and (await me.json())["global"] is True
        fake.rules.enforce_global_limit = False
        async with http.get(f"{fake.api_base}/users/@me") as me:
            assert me.status == 200
    assert sum(len(fake.messages(c)) for c in channels) == 50  # the 429s changed nothing
    assert fake.count_global_429s() == fake.count_429s() == 11


async def test_interaction_token_calls_are_outside_the_global_limit(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    fake.limiter.reset()  # the bot's start-up calls do not count
    fake.rules.global_limit, fake.rules.global_window = 4, 30.0  # a window that cannot roll over
    # The bot answers through the interaction token: callback, then PATCH @original.
    handle = await fake.invoke(scene.alice, scene.channel, "video", {"prompt": "a cat"})
    await handle.wait_original(lambda m: m.content == "video: a cat")
    webhook = f"{fake.api_base}/webhooks/{fake.application_id}/{handle.token}"
    auth = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as http:
        for n in range(2):
            async with http.post(webhook, json={"content": f"followup {n}"}) as r:
                assert r.status == 200
        statuses = []
        for _ in range(6):
            async with http.get(f"{fake.api_base}/users/@me", headers=auth) as r:
                statuses.append(r.status)
        assert statuses == [200] * 4 + [429] * 2  # none of the 4 interaction calls counted
        # With the bot token globally limited, the interaction token still works.
        async with http.patch(f"{webhook}/messages/@original", json={"content": "done"}) as r:
            assert r.status == 200
    interaction_calls = [c for c in fake.calls if c.via == "interaction"]
    assert len(interaction_calls) == 5 and all(c.status < 300 for c in interaction_calls)
    assert fake.count_global_429s() == fake.count_429s() == 2


async def test_discord_py_waits_out_global_429s(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    channels = [scene.guild.add_text_channel(f"c{n}") for n in range(60)]
    targets = [bot.get_partial_messageable(c.id) for c in channels]
    sent = await asyncio.gather(*(t.send(f"{n}") for n in range(2) for t in targets))
    assert len(sent) == 120
    for channel in channels:
        assert sorted(m.content for m in fake.messages(channel)) == ["0", "1"]
    posts = fake.calls_to("POST /channels/{channel_id}/messages")
    global_429s = fake.count_global_429s()
    assert global_429s > 0 and fake.count_429s() == global_429s  # no route bucket overflowed
    assert len(posts) == 120 + global_429s  # every 429 was retried, once per 429
    # 120 sends at 50 per window take at least three windows: the first and last are over one
    # window apart.
    assert max(c.at for c in posts) - min(c.at for c in posts) > fake.rules.global_window


async def test_oversized_upload_gets_413(fake: FakeDiscord, scene: Scene, bot: TinyBot) -> None:
    await fake.invoke(scene.alice, scene.channel, "upload", {"size": UPLOAD_LIMIT + 1})
    error = await bot.reported("upload")
    assert isinstance(error, discord.HTTPException) and error.status == 413
    assert error.code == 40005
    channel = bot.get_channel(scene.channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(file=discord.File(io.BytesIO(b"v" * (UPLOAD_LIMIT + 1)), "big.mp4"))
    assert caught.value.code == 40005


async def test_aged_message_edit_gets_30046(fake: FakeDiscord, scene: Scene, bot: TinyBot) -> None:
    channel = bot.get_channel(scene.channel.id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("progress 1")
    fake.age_message(message.id, 3601)
    with pytest.raises(discord.HTTPException) as caught:
        await message.edit(content="progress 2")
    assert caught.value.code == 30046
    fake.rules.enforce_edit_age = False
    await message.edit(content="progress 2")


async def test_deleted_message_and_channel(fake: FakeDiscord, scene: Scene, bot: TinyBot) -> None:
    channel = bot.get_channel(scene.channel.id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("card")
    await fake.delete_message(message.id)
    assert await bot.reported(f"deleted:{message.id}") == scene.channel.id
    with pytest.raises(discord.NotFound) as caught:
        await message.edit(content="again")
    assert caught.value.code == 10008
    await fake.delete_channel(scene.channel.id)
    assert await bot.reported(f"channel_deleted:{scene.channel.id}") == "general"
    assert bot.get_channel(scene.channel.id) is None
    with pytest.raises(discord.NotFound) as caught:
        await channel.send("hello?")
    assert caught.value.code == 10003


async def test_dms_and_allowed_mentions(fake: FakeDiscord, scene: Scene, bot: TinyBot) -> None:
    user = await bot.fetch_user(scene.alice.id)
    await user.send(
        f"@everyone <@{scene.alice.id}> done", allowed_mentions=discord.AllowedMentions.none()
    )
    [dm] = fake.dm_messages(scene.alice)
    assert dm.mention_everyone is False and dm.mentioned_user_ids == ()
    with pytest.raises(discord.HTTPException) as too_long:
        await user.send("x" * 2001)
    assert too_long.value.code == 50035
    scene.bob.user.accepts_dms = False
    with pytest.raises(discord.Forbidden) as caught:
        await (await bot.fetch_user(scene.bob.id)).send("hi")
    assert caught.value.code == 50007


async def test_second_callback_and_unknown_routes(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    handle = await fake.invoke(scene.alice, scene.channel, "secret")
    await handle.response()
    url = f"{fake.api_base}/interactions/{handle.id}/{handle.token}/callback"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"type": 4, "data": {"content": "again"}}) as again:
            assert again.status == 400 and (await again.json())["code"] == 40060
        headers = {"Authorization": f"Bot {fake.token}"}
        async with http.get(f"{fake.api_base}/guilds/1/bans", headers=headers) as missing:
            assert missing.status == 404 and missing.headers["Content-Type"] == "application/json"
    assert [c.path for c in fake.unhandled] == ["/guilds/1/bans"]
    fake.unhandled.clear()


async def test_reconnects_after_a_drop_and_a_restart(fake: FakeDiscord, scene: Scene) -> None:
    bot, task = await start_bot(fake)
    await bot.tree.sync()
    await fake.drop_gateway()
    # The client tries to RESUME, gets op 9, and identifies afresh.
    await fake.wait_for(lambda: fake.gateway.identify_count == 2 and fake.gateway.ready)
    assert fake.gateway.resume_count == 1
    handle = await fake.invoke(scene.alice, scene.channel, "secret")
    assert (await handle.response()).status == 200
    await bot.close()
    await task
    bot, task = await start_bot(fake)  # a restarted process: a new client, same fake
    handle = await fake.invoke(scene.alice, scene.channel, "secret")
    assert (await handle.response()).status == 200
    await bot.close()
    await task
    assert fake.gateway.identify_count == 3


CLIENT_SCRIPT = """
import asyncio, os, discord, yarl
discord.http.Route.BASE = os.environ["FAKE_API"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_GATEWAY"])
client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
@client.event
async def on_ready():
    print("ready", flush=True)
client.run(os.environ["FAKE_TOKEN"], log_handler=None)
"""


async def test_accepts_a_new_client_after_sigkill(fake: FakeDiscord, scene: Scene) -> None:
    env = os.environ | {
        "FAKE_API": fake.api_base,
        "FAKE_GATEWAY": fake.gateway_url,
        "FAKE_TOKEN": fake.token,
    }
    for round_ in (1, 2):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLIENT_SCRIPT, env=env, stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"ready\n"
        assert fake.gateway.identify_count == round_
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await fake.wait_for(lambda: not fake.gateway.sessions)


async def test_member_permissions_beyond_everyone_come_from_a_real_role(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    announce = fake.world.announcer
    assert announce is not None
    events: list[str] = []

    def spy(event: str, data: dict[str, Any], intent: int | None) -> None:
        events.append(event)
        announce(event, data, intent)

    fake.world.announcer = spy
    mod = scene.guild.add_member("mod", permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_MESSAGES)
    plain = scene.guild.add_member("plain", permissions=DEFAULT_MEMBER_PERMISSIONS)
    assert events == ["GUILD_ROLE_CREATE", "GUILD_MEMBER_ADD", "GUILD_MEMBER_ADD"]
    [role] = mod.roles
    assert (role.name, role.permissions, plain.roles) == ("mod-permissions", MANAGE_MESSAGES, [])
    assert mod.base_permissions() == DEFAULT_MEMBER_PERMISSIONS | MANAGE_MESSAGES
    with pytest.raises(ValueError):
        scene.guild.add_member("less", permissions=0)  # below @everyone: not a Discord thing
    # discord.py sees the same: the role in its cache, the member with it.
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None
    await eventually(lambda: guild.get_role(role.id))
    member = await guild.fetch_member(mod.id)
    assert member.guild_permissions.value == mod.base_permissions()
    handle = await fake.invoke(mod, scene.channel, "perms")
    perms, _, _ = await bot.reported(f"perms:{handle.id}")
    assert perms == mod.permissions_in(scene.channel) and perms & MANAGE_MESSAGES


async def test_channel_overwrites_decide_what_members_may_do_there(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    guild, general = scene.guild, scene.channel
    helpers, quiet = guild.add_role("helpers", 0), guild.add_role("quiet", 0)
    carol = guild.add_member("carol", roles=[helpers, quiet])
    staff = guild.add_text_channel("staff")
    staff.set_permissions(guild.everyone, deny=VIEW_CHANNEL)
    staff.set_permissions(helpers, allow=VIEW_CHANNEL | MANAGE_MESSAGES)
    staff.set_permissions(quiet, deny=MANAGE_MESSAGES | SEND_MESSAGES)
    staff.set_permissions(carol, allow=SEND_MESSAGES)
    staff.set_permissions(scene.alice, deny=VIEW_CHANNEL)
    general.set_permissions(scene.bob, deny=VIEW_CHANNEL)
    assert staff.payload()["permission_overwrites"][:2] == [
        {"id": str(guild.id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
        {
            "id": str(helpers.id),
            "type": 0,
            "allow": str(VIEW_CHANNEL | MANAGE_MESSAGES),
            "deny": "0",
        },
    ]
    # bob: his own overwrite hides #general, @everyone's hides #staff: nothing in either, and
    # no interaction can come from him there.
    assert scene.bob.permissions_in(general) == 0 == scene.bob.permissions_in(staff)
    with pytest.raises(PermissionError):
        await fake.invoke(scene.bob, general, "perms")
    # alice is an administrator: overwrites do not touch her.
    assert scene.alice.permissions_in(staff) == ALL_PERMISSIONS
    # carol: the roles' allows beat their denies (Manage Messages), her own overwrite beats
    # both (Send Messages); Manage Messages only in #staff, in the interaction's payload too.
    in_staff = carol.permissions_in(staff)
    assert in_staff & MANAGE_MESSAGES and in_staff & SEND_MESSAGES
    handles = [(await fake.invoke(carol, c, "perms"), c) for c in (staff, general)]
    for handle, channel in handles:
        expected = carol.permissions_in(channel)
        assert bool(expected & MANAGE_MESSAGES) is (channel is staff)
        payload = handle.payload
        assert int(payload["member"]["permissions"]) == expected
        assert int(payload["channel"]["permissions"]) == expected
        assert (
            payload["channel"]["permission_overwrites"]
            == channel.payload()["permission_overwrites"]
        )
        perms, app_perms, resolved = await bot.reported(f"perms:{handle.id}")
        assert perms == expected and resolved.value == expected
        assert (
            app_perms == guild.bot_member.permissions_in(channel) == int(payload["app_permissions"])
        )
    # discord.py's own computation from its cache (CHANNEL_UPDATE, GUILD_ROLE_CREATE) agrees.
    cached = bot.get_guild(guild.id)
    assert cached is not None

    def text_channel(channel: Channel) -> discord.TextChannel:
        found = cached.get_channel(channel.id)
        assert isinstance(found, discord.TextChannel)
        return found

    await eventually(
        lambda: (
            len(text_channel(staff).overwrites) == 5 and len(text_channel(general).overwrites) == 1
        )
    )
    for member in (scene.alice, scene.bob, carol, guild.bot_member):
        fetched = await cached.fetch_member(member.id)
        for channel in (general, staff):
            theirs = text_channel(channel).permissions_for(fetched).value & TEXT_CHANNEL_BITS
            assert theirs == member.permissions_in(channel) & TEXT_CHANNEL_BITS, (
                member.name,
                channel.name,
            )
    staff.remove_permissions(carol)
    assert not carol.permissions_in(staff) & SEND_MESSAGES
    await eventually(lambda: len(text_channel(staff).overwrites) == 4)


async def test_the_bots_permissions_in_the_channel_rule_its_calls(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    guild = scene.guild
    no_files, hidden = guild.add_text_channel("no-files"), guild.add_text_channel("hidden")
    no_files.set_permissions(guild.bot_member, deny=ATTACH_FILES)
    hidden.set_permissions(guild.bot_role, deny=VIEW_CHANNEL)

    def clip() -> discord.File:
        return discord.File(io.BytesIO(b"v" * 10), "clip.mp4")

    await bot.get_partial_messageable(scene.channel.id).send(file=clip())
    target = bot.get_partial_messageable(no_files.id)
    await target.send("text is fine")
    with pytest.raises(discord.Forbidden) as caught:
        await target.send(file=clip())
    assert caught.value.code == 50013
    with pytest.raises(discord.Forbidden) as caught:
        await bot.get_partial_messageable(hidden.id).send("hello?")
    assert caught.value.code == 50001
    # app_permissions are the bot's in the interaction's channel.
    handle = await fake.invoke(scene.bob, no_files, "perms")
    _, app_perms, _ = await bot.reported(f"perms:{handle.id}")
    assert app_perms & SEND_MESSAGES and not app_perms & ATTACH_FILES
    # Discord delivers interactions from a channel the bot cannot see; the token answers.
    unseen = await fake.invoke(scene.bob, hidden, "perms")
    assert unseen.payload["app_permissions"] == "0"
    assert (await unseen.wait_original()).content == "ok"
    fake.rules.enforce_permissions = False
    await target.send(file=clip())
    assert [m.content for m in fake.messages(no_files)] == ["text is fine", ""]


async def test_a_removed_bot_gets_missing_access_but_tokens_still_work(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    channel = bot.get_partial_messageable(scene.channel.id)
    card = await channel.send("card")
    earlier = await fake.invoke(scene.alice, scene.channel, "secret")
    await earlier.wait_original()
    fake.remove_bot(scene.guild)
    assert await bot.reported(f"guild_removed:{scene.guild.id}") == "Studio"
    assert bot.get_guild(scene.guild.id) is None
    calls = {
        "send": channel.send("hello?"),
        "edit": card.edit(content="edited"),
        "fetch message": channel.fetch_message(card.id),
        "fetch guild": bot.fetch_guild(scene.guild.id),
        "guild sync": bot.tree.sync(guild=discord.Object(scene.guild.id)),
    }
    for name, call in calls.items():
        with pytest.raises(discord.Forbidden) as caught:
            await call
        assert caught.value.code == 50001, name
    # The interaction's token does not depend on the bot's membership: it works until it expires.
    webhook = f"{fake.api_base}/webhooks/{fake.application_id}/{earlier.token}"
    async with aiohttp.ClientSession() as http:
        async with http.patch(f"{webhook}/messages/@original", json={"content": "kept"}) as r:
            assert r.status == 200
        async with http.post(webhook, json={"content": "followup"}) as r:
            assert r.status == 200
    # Nothing comes from the guild any more: no interactions, no events.
    with pytest.raises(ValueError):
        await fake.invoke(scene.alice, scene.channel, "secret")
    [session] = fake.gateway.sessions
    seq = session.seq
    await fake.say(scene.alice, scene.channel, "anyone?")
    scene.guild.add_text_channel("later")
    assert session.seq == seq
    # Invited back, the bot gets the guild as it is now.
    fake.add_bot(scene.guild)
    assert await bot.reported(f"guild_joined:{scene.guild.id}") == "Studio"
    rejoined = bot.get_guild(scene.guild.id)
    assert rejoined is not None and [c.name for c in rejoined.text_channels] == ["general", "later"]
    await channel.send("back")


async def test_dm_uploads_are_limited_to_10_mib_whatever_the_guilds_boost(
    fake: FakeDiscord, scene: Scene, bot: TinyBot
) -> None:
    boosted = fake.add_guild("Boosted", upload_limit=50 * MIB)
    videos = boosted.add_text_channel("videos")
    dana = boosted.add_member("dana")
    target = await eventually(lambda: bot.get_channel(videos.id))
    assert isinstance(target, discord.TextChannel)
    big = b"v" * (20 * MIB)
    sent = await target.send(file=discord.File(io.BytesIO(big), "big.mp4"))
    assert fake.message(sent.id).attachments[0].size == 20 * MIB
    user = await bot.fetch_user(dana.id)
    with pytest.raises(discord.HTTPException) as caught:
        await user.send(file=discord.File(io.BytesIO(big), "big.mp4"))
    assert caught.value.status == 413 and caught.value.code == 40005
    assert fake.dm_messages(dana) == []
    await user.send(file=discord.File(io.BytesIO(b"v" * (10 * MIB)), "fits.mp4"))
    assert [m.attachments[0].size for m in fake.dm_messages(dana)] == [10 * MIB]
    # Interactions tell the same limits: the guild's, and Discord's default in a DM.
    in_guild = await fake.invoke(dana, videos, "secret")
    in_dm = await fake.invoke(dana, fake.dm_channel(dana), "secret")
    assert in_guild.payload["attachment_size_limit"] == 50 * MIB
    assert in_dm.payload["attachment_size_limit"] == 10 * MIB
