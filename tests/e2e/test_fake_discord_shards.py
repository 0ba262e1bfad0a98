"""The fake Discord's shards, driven by real discord.py AutoShardedClients.

Two clients share one fake as two bot processes would (shard 0 and shard 1 of 2): each gets
only the guilds with `(guild_id >> 22) % 2` equal to its shard, and their events; DMs go to
shard 0. "Only" is checked on both sides: the other session's sequence number does not move,
and an event sent after it to the other client arrives first (a session's events are ordered).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from tests.fakediscord import Channel, FakeDiscord, Guild, Member, shard_of
from tests.fakediscord.gateway import Session

TWO = 2


class ShardBot(discord.AutoShardedClient):
    """Answers /where with its label; keeps what the gateway brought it."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05, **options)
        self.label = label
        self.tree = app_commands.CommandTree(self)
        self.interactions: list[int] = []
        self.messages: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.joined: asyncio.Queue[int] = asyncio.Queue()

    async def setup_hook(self) -> None:
        @self.tree.command(description="Say which client answered")
        async def where(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"answered by {self.label}")

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        pass  # discord.py sleeps 5 s between IDENTIFYs; the fake has no such limit

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.interactions.append(interaction.id)

    async def on_message(self, message: discord.Message) -> None:
        self.messages.put_nowait(message)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.joined.put_nowait(guild.id)

    async def received(self, message_id: int) -> discord.Message:
        """The message once it arrives (skipping the earlier ones)."""
        while True:
            message = await asyncio.wait_for(self.messages.get(), 5)
            if message.id == message_id:
                return message


@dataclass
class Place:
    guild: Guild
    channel: Channel
    member: Member


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.patch_discord()
        yield fake
        assert fake.unhandled == [], "the bot called routes the fake does not know"


def place(fake: FakeDiscord, name: str, shard: int) -> Place:
    guild = fake.world.add_guild(name, shard=(shard, TWO))
    return Place(guild, guild.add_text_channel("general"), guild.add_member(f"{name}-member"))


@pytest.fixture
def places(fake: FakeDiscord) -> dict[str, Place]:
    """Two guilds on each shard, made in alternating order."""
    return {name: place(fake, name, int(name[-1])) for name in ("a0", "a1", "b0", "b1")}


Start = Callable[[discord.Client], Awaitable[None]]


@pytest.fixture
async def start(fake: FakeDiscord) -> AsyncIterator[Start]:
    """Start a client until it is ready; every client started is closed at the end, failed
    test or not (a client left running keeps the event loop from closing)."""
    running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def launch(client: discord.Client) -> None:
        task = asyncio.create_task(client.start(fake.token))
        running.append((client, task))
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # raises what went wrong
        assert ready in done, "the client never became ready"

    yield launch
    for client, task in reversed(running):
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def pair(start: Start, places: dict[str, Place]) -> tuple[ShardBot, ShardBot]:
    bots = (
        ShardBot("0", shard_count=TWO, shard_ids=[0]),
        ShardBot("1", shard_count=TWO, shard_ids=[1]),
    )
    for bot in bots:
        await start(bot)
    await bots[0].tree.sync()  # global commands: one sync serves both processes
    return bots


def session_of(fake: FakeDiscord, shard_id: int) -> Session:
    [session] = [s for s in fake.gateway.sessions if s.shard == (shard_id, TWO)]
    return session


def guild_ids(client: discord.Client) -> set[int]:
    return {g.id for g in client.guilds}


async def test_guilds_can_be_made_on_a_chosen_shard(fake: FakeDiscord) -> None:
    made = [fake.world.add_guild(f"g{i}", shard=(i % 3, 3)) for i in range(7)]
    assert [shard_of(g.id, 3) for g in made] == [i % 3 for i in range(7)]
    ids = [g.id for g in made] + [fake.world.new_id()]
    assert ids == sorted(set(ids)), "snowflakes stay unique and increasing"
    assert made[0].everyone.id == made[0].id
    with pytest.raises(ValueError):
        fake.world.add_guild("nowhere", shard=(2, 2))
    plain = fake.add_guild("plain")  # the API without shards is unchanged
    assert fake.world.guild(plain.id) is plain


async def test_each_client_sees_only_its_shards_guilds(
    fake: FakeDiscord, places: dict[str, Place], pair: tuple[ShardBot, ShardBot]
) -> None:
    zero, one = pair
    assert guild_ids(zero) == {places["a0"].guild.id, places["b0"].guild.id}
    assert guild_ids(one) == {places["a1"].guild.id, places["b1"].guild.id}
    assert {s.shard for s in fake.gateway.sessions} == {(0, TWO), (1, TWO)}
    # A guild joined later is announced on its shard only.
    seq = session_of(fake, 0).seq
    late = fake.world.add_guild("late", shard=(1, TWO))
    assert await asyncio.wait_for(one.joined.get(), 5) == late.id
    assert session_of(fake, 0).seq == seq
    assert zero.get_guild(late.id) is None


async def test_an_interaction_reaches_only_the_client_with_its_guilds_shard(
    fake: FakeDiscord, places: dict[str, Place], pair: tuple[ShardBot, ShardBot]
) -> None:
    zero, one = pair
    for name, answering, other in (("a1", one, zero), ("b0", zero, one)):
        here = places[name]
        other_session = session_of(fake, int(other.label))
        seq = other_session.seq
        handle = await fake.invoke(here.member, here.channel, "where")
        answer = await handle.response()
        assert answer.status == 200 and answer.data is not None
        assert answer.data["content"] == f"answered by {answering.label}"
        assert handle.id in answering.interactions
        assert other_session.seq == seq
        # Sent after the interaction on the other client's shard, so it arrives after it.
        elsewhere = places["a0" if other is zero else "a1"]
        barrier = await fake.say(elsewhere.member, elsewhere.channel, "barrier")
        await other.received(barrier.id)
        assert handle.id not in other.interactions
        assert len(handle.callbacks) == 1


async def test_dms_reach_only_shard_zero(
    fake: FakeDiscord, places: dict[str, Place], pair: tuple[ShardBot, ShardBot]
) -> None:
    zero, one = pair
    member = places["a1"].member  # in a shard-1 guild: a DM still belongs to no guild
    dm = fake.dm_channel(member)
    seq = session_of(fake, 1).seq
    said = await fake.say(member, dm, "hello in private")
    got = await zero.received(said.id)
    assert got.guild is None and got.content == "hello in private"
    handle = await fake.invoke(member, dm, "where")
    answer = await handle.response()
    assert answer.data is not None and answer.data["content"] == "answered by 0"
    assert session_of(fake, 1).seq == seq
    barrier = await fake.say(member, places["a1"].channel, "barrier")
    await one.received(barrier.id)
    assert one.interactions == [] and one.get_channel(dm.id) is None


async def test_an_interaction_waits_for_the_shard_that_has_its_guild(
    fake: FakeDiscord, places: dict[str, Place], start: Start
) -> None:
    zero = ShardBot("0", shard_count=TWO, shard_ids=[0])
    await start(zero)
    await zero.tree.sync()
    here = places["a1"]
    with pytest.raises(RuntimeError, match="no identified gateway session"):
        await fake.invoke(here.member, here.channel, "where", timeout=0.2)
    # Invoked before shard 1 connects (as right after the first process's READY): it waits.
    invoked = asyncio.create_task(fake.invoke(here.member, here.channel, "where"))
    one = ShardBot("1", shard_count=TWO, shard_ids=[1])
    await start(one)
    answer = await (await invoked).response()
    assert answer.data is not None and answer.data["content"] == "answered by 1"
    assert zero.interactions == []


async def test_an_invalid_shard_is_refused_with_4010(
    fake: FakeDiscord, places: dict[str, Place]
) -> None:
    client = ShardBot("2", shard_count=TWO, shard_ids=[2])
    with pytest.raises(discord.ConnectionClosed) as closed:
        await asyncio.wait_for(client.start(fake.token), 10)
    assert closed.value.code == 4010
    assert fake.gateway.identify_count == 0
    async with aiohttp.ClientSession() as http:
        for shard in ([1, 1], [0, 0], [-1, 2], [0], "0,2", [0.0, 2], [True, 2]):
            async with http.ws_connect(fake.gateway_url) as ws:
                hello = await ws.receive_json()
                assert hello["op"] == 10
                identify = {"token": fake.token, "intents": 0, "properties": {}, "shard": shard}
                await ws.send_json({"op": 2, "d": identify})
                msg = await ws.receive()
                assert msg.type is aiohttp.WSMsgType.CLOSE, shard
                assert (msg.data, msg.extra) == (4010, "Invalid shard."), shard
    assert fake.gateway.identify_count == 0


async def test_an_unsharded_client_still_sees_every_guild(
    fake: FakeDiscord, places: dict[str, Place], start: Start
) -> None:
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    await start(client)
    assert guild_ids(client) == {p.guild.id for p in places.values()}
    [session] = fake.gateway.sessions
    assert session.shard is None
    assert fake.calls_to("GET /gateway/bot") == []  # a plain Client connects to DEFAULT_GATEWAY


async def test_auto_sharding_takes_the_count_and_url_from_gateway_bot(
    fake: FakeDiscord, places: dict[str, Place], start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.gateway.recommended_shards = TWO
    # Nothing listens here: the client connects only if it uses the URL /gateway/bot gave.
    nowhere = yarl.URL("ws://127.0.0.1:9/nowhere")
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", nowhere)
    client = ShardBot("auto")
    await start(client)
    assert client.shard_count == TWO
    assert {s.shard for s in fake.gateway.sessions} == {(0, TWO), (1, TWO)}
    assert guild_ids(client) == {p.guild.id for p in places.values()}
    assert [c.status for c in fake.calls_to("GET /gateway/bot")] == [200]


async def test_gateway_bot_answers_as_discord(
    fake: FakeDiscord, places: dict[str, Place], start: Start
) -> None:
    url = f"{fake.api_base}/gateway/bot"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as anonymous:
            assert anonymous.status == 401
        headers = {"Authorization": f"Bot {fake.token}"}
        async with http.get(url, headers=headers) as response:
            assert response.status == 200
            before = await response.json()
        assert before["url"] == fake.gateway_url and before["shards"] == 1
        limit = before["session_start_limit"]
        assert set(limit) == {"total", "remaining", "reset_after", "max_concurrency"}
        assert limit["remaining"] == limit["total"] and limit["max_concurrency"] == 1
        assert 0 < limit["reset_after"] <= 24 * 3600 * 1000
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        await start(client)
        async with http.get(url, headers=headers) as response:
            after = (await response.json())["session_start_limit"]
        assert after["remaining"] == limit["total"] - 1
