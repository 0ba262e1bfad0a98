"""The gateway websocket: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, dispatches.

Frames are plain JSON text; discord.py asks for zlib-stream but decompresses only binary frames.
RESUME is answered with op 9 (d=false), so the client re-identifies: simpler than replaying
missed events, and a path real bots must survive anyway. Events are queued per session and
written by one task each, so sequence numbers and order always agree.

Sharding is Discord's: an IDENTIFY with `shard: [i, n]` gets only the guilds with
`(guild_id >> 22) % n == i`, and the events of those guilds; events of no guild (DMs) go to
shard 0. A session without `shard` gets everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .model import shard_of, valid_shard

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

MESSAGE_CONTENT = 1 << 15
GUILD_MEMBERS = 1 << 1
# Events whose payload is the guild itself: its id is in `id`, not `guild_id`.
GUILD_EVENTS = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")
SESSION_START_WINDOW = 24 * 3600.0  # Discord's session_start_limit resets daily
# A network's round trip before a heartbeat's ACK: discord.py's keep-alive thread notes when it
# sent the beat only after the loop has sent it, so an ACK back sooner than that (loopback, a
# busy loop) reads as a latency of a whole interval and logs "Can't keep up ... 41.3s behind".
HEARTBEAT_ACK_DELAY = 0.05


def event_guild(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to (it picks the shard), None for DMs and the like."""
    if data.get("guild_id") is not None:
        return int(data["guild_id"])
    if event in GUILD_EVENTS and data.get("id") is not None:
        return int(data["id"])
    return None


def parse_shard(raw: Any) -> tuple[int, int] | None:
    """IDENTIFY's `shard` as (shard_id, shard_count), or None if Discord would refuse it."""
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        return None
    shard_id, count = raw
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (shard_id, count)):
        return None
    return (shard_id, count) if valid_shard(shard_id, count) else None


@dataclass(eq=False)
class Session:
    ws: web.WebSocketResponse
    session_id: str = ""
    intents: int = 0
    seq: int = 0
    identified: bool = False
    shard: tuple[int, int] | None = None  # (shard_id, shard_count) from IDENTIFY
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def covers(self, guild_id: int | None) -> bool:
        """Whether this session's shard gets the events of `guild_id` (None: no guild)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0  # Discord sends DMs to shard 0 only
        return shard_of(guild_id, count) == shard_id

    def send(self, op: int, data: Any, event: str | None = None) -> None:
        frame: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
        if op == 0:
            self.seq += 1
            frame["s"] = self.seq
        self.queue.put_nowait(json.dumps(frame, separators=(",", ":")))


class Gateway:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: list[Session] = []
        self.identify_count = 0
        self.resume_count = 0
        self.received: list[dict[str, Any]] = []  # every frame the clients sent
        self.refusing = False  # True: the gateway is down (connections answered 503)
        # What GET /gateway/bot answers; the client picks its shard count from `shards`.
        self.recommended_shards = 1
        self.session_start_total = 1000
        self.max_concurrency = 1
        self._first_identify: float | None = None  # time.monotonic()

    @property
    def ready(self) -> bool:
        return any(s.identified for s in self.sessions)

    def ready_for(self, guild_id: int | None) -> bool:
        """Whether an identified session gets the events of `guild_id` (None: DMs)."""
        return any(s.identified and s.covers(guild_id) for s in self.sessions)

    def bot_gateway(self) -> dict[str, Any]:
        """GET /gateway/bot, as Discord answers it (reset_after in milliseconds)."""
        elapsed = 0.0
        if self._first_identify is not None:
            elapsed = time.monotonic() - self._first_identify
        return {
            "url": self.fake.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": self.session_start_total,
                "remaining": max(0, self.session_start_total - self.identify_count),
                "reset_after": int(max(0.0, SESSION_START_WINDOW - elapsed) * 1000),
                "max_concurrency": self.max_concurrency,
            },
        }

    def dispatch(self, event: str, data: dict[str, Any], intent: int | None = None) -> int:
        """Queue an event for every identified session that asked for it and whose shard has
        its guild; how many did."""
        sent = 0
        bot_id = str(self.fake.world.bot_user.id)
        guild_id = event_guild(event, data)
        for session in self.sessions:
            if not session.identified or (intent is not None and not session.intents & intent):
                continue
            if not session.covers(guild_id):
                continue
            payload = data
            if (
                event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
                and guild_id is not None  # DMs with the bot keep their content
                and not session.intents & MESSAGE_CONTENT
            ):
                mentioned = any(u["id"] == bot_id for u in data.get("mentions", []))
                if data["author"]["id"] != bot_id and not mentioned:
                    # Without the privileged intent, others' messages arrive blank.
                    blank = {"content": "", "embeds": [], "attachments": [], "components": []}
                    payload = data | blank
            session.send(0, payload, event)
            sent += 1
        return sent

    async def drop(self, code: int = 4000) -> None:
        """Close every connection as a network failure would; the client resumes (and gets 9)."""
        for session in list(self.sessions):
            await session.ws.close(code=code, message=b"dropped by the fake")

    async def close(self) -> None:
        await self.drop(1001)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.refusing:
            return web.Response(status=503, text="gateway unavailable (the fake's outage)")
        ws = web.WebSocketResponse(timeout=2.0, autoping=True, max_msg_size=0)
        await ws.prepare(request)
        session = Session(ws)
        self.sessions.append(session)
        writer = asyncio.create_task(self._write(session))
        interval = int(self.fake.heartbeat_interval * 1000)
        session.send(10, {"heartbeat_interval": interval, "_trace": ["fake-gateway"]})
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                self.received.append(frame)
                await self._on_frame(session, frame)
        finally:
            self.sessions.remove(session)
            session.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await writer
            self.fake.world.changed()
        return ws

    async def _write(self, session: Session) -> None:
        while (frame := await session.queue.get()) is not None:
            if session.ws.closed:
                return
            try:
                await session.ws.send_str(frame)
            except ConnectionError:
                return

    async def _on_frame(self, session: Session, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            asyncio.get_running_loop().call_later(HEARTBEAT_ACK_DELAY, session.send, 11, None)
        elif op == 2:
            await self._identify(session, data or {})
        elif op == 6:
            # Sessions are not kept: invalidate, so the client identifies afresh.
            self.resume_count += 1
            session.send(9, False)
        elif not session.identified and op not in (3, 4):
            await session.ws.close(code=4003, message=b"Not authenticated.")
        elif op == 8:
            self._members_chunk(session, data or {})
        elif op not in (3, 4):
            await session.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, session: Session, data: dict[str, Any]) -> None:
        fake = self.fake
        if session.identified:
            await session.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != fake.token:
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        if data.get("shard") is not None:
            shard = parse_shard(data["shard"])
            if shard is None:
                await session.ws.close(code=4010, message=b"Invalid shard.")
                return
            session.shard = shard
        self.identify_count += 1
        if self._first_identify is None:
            self._first_identify = time.monotonic()
        session.intents = int(data.get("intents") or 0)
        session.session_id = uuid.uuid4().hex
        world = fake.world
        guilds = [g for g in world.guilds if g.bot_present and session.covers(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": world.bot_user.payload() | {"verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": fake.gateway_url,
            "application": {"id": str(world.application_id), "flags": fake.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["fake-gateway"],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        session.send(0, ready, "READY")
        for guild in guilds:
            session.send(0, guild.payload(), "GUILD_CREATE")
        session.identified = True
        world.changed()

    def _members_chunk(self, session: Session, data: dict[str, Any]) -> None:
        guild = next((g for g in self.fake.world.guilds if str(g.id) == data.get("guild_id")), None)
        if guild is None or not guild.bot_present or not session.covers(guild.id):
            return
        members = list(guild.all_members())
        if data.get("user_ids"):
            wanted = {str(u) for u in data["user_ids"]}
            members = [m for m in members if str(m.id) in wanted]
        elif data.get("query"):
            members = [m for m in members if m.name.lower().startswith(data["query"].lower())]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
            "nonce": data.get("nonce"),
        }
        session.send(0, chunk, "GUILD_MEMBERS_CHUNK")
