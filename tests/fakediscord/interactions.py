"""Interaction callbacks and interaction-token webhooks, with Discord's deadlines and lifetimes.

- the first callback must arrive within Rules.response_deadline (404 / 10062), only once (40060);
- the token then works for Rules.token_lifetime (afterwards 401 / 50027); a token whose
  interaction was never acknowledged is 404 / 10015;
- the first followup after a "thinking" defer replaces the loading message, as on Discord;
- these routes need no permission in the channel and keep working after the bot was removed
  from the guild (until the token expires): the interaction's webhook belongs to the
  application, not to the bot's membership.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .compose import apply_edit, check_upload, new_message
from .message import EPHEMERAL, LOADING, Message
from .router import Reply, Req, route
from .rules import (
    DiscordError,
    already_acknowledged,
    invalid_form,
    invalid_webhook_token,
    unknown_channel,
    unknown_interaction,
    unknown_message,
    unknown_webhook,
)
from .state import Callback, InteractionRecord
from .validate import validate_choices

if TYPE_CHECKING:
    from .server import FakeDiscord

# Which callback types each interaction type accepts (2 command, 3 component, 4 autocomplete,
# 5 modal submit).
ALLOWED_CALLBACKS = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}


def metadata(fake: FakeDiscord, rec: InteractionRecord) -> dict[str, Any]:
    """The `interaction_metadata` Discord attaches to messages an interaction produced."""
    meta: dict[str, Any] = {
        "id": str(rec.id),
        "type": rec.type,
        "user": rec.user.payload(),
        "authorizing_integration_owners": rec.payload.get("authorizing_integration_owners", {}),
    }
    if rec.type == 2:
        meta["name"] = rec.payload["data"]["name"]
    if rec.source_message_id is not None:
        meta["interacted_message_id"] = str(rec.source_message_id)
    if rec.original_id is not None:
        meta["original_response_message_id"] = str(rec.original_id)
    return meta


def _response_message(
    fake: FakeDiscord, rec: InteractionRecord, data: dict[str, Any], req: Req, *, loading: bool
) -> Message:
    world = fake.world
    extra: dict[str, Any] = {"webhook_id": world.application_id, "interaction": metadata(fake, rec)}
    if loading:
        flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
        message = Message(world.new_id(), rec.channel, world.bot_user, flags=flags, **extra)
    else:
        check_upload(req.files, rec.attachment_size_limit, fake.rules)
        message = new_message(
            world, rec.channel, world.bot_user, data, req.files, fake.rules, **extra
        )
    if rec.type == 2:
        message.type = 20  # CHAT_INPUT_COMMAND
    if message.ephemeral:
        message.visible_to = frozenset({rec.user.id})
    return world.add_message(message)


def _respond(fake: FakeDiscord, rec: InteractionRecord, req: Req, now: float) -> Reply:
    rules = fake.rules
    if rec.acknowledged:
        raise already_acknowledged()
    if rules.enforce_deadline and now - rec.sent_at > rules.response_deadline:
        raise unknown_interaction()
    kind = int(req.body.get("type") or 0)
    data: dict[str, Any] = req.body.get("data") or {}
    if kind not in ALLOWED_CALLBACKS.get(rec.type, set()):
        raise invalid_form("type", f"Callback type {kind} is not valid for this interaction")
    message: Message | None = None
    if kind in (4, 5):
        message = _response_message(fake, rec, data, req, loading=kind == 5)
        rec.original_id = message.id
    elif kind in (6, 7):
        source = fake.world.messages.get(rec.source_message_id or 0)
        if source is None or source.deleted:
            raise unknown_message()
        if kind == 7:
            check_upload(req.files, rec.attachment_size_limit, rules)
            apply_edit(fake.world, source, data, req.files, rules)
        rec.original_id = message_id = source.id
        message = fake.world.messages[message_id]
    elif kind == 8 and rules.validate_payloads:
        validate_choices(data.get("choices") or [])
    rec.response_type = kind
    body: dict[str, Any] = {"interaction": {"id": str(rec.id), "type": rec.type}}
    body["resource"] = {"type": kind}
    if message is not None:
        body["interaction"] |= {
            "response_message_id": str(message.id),
            "response_message_loading": message.loading,
            "response_message_ephemeral": message.ephemeral,
        }
        body["resource"]["message"] = fake.world.message_payload(message)
    return Reply(200, body)


@route("POST", "/interactions/{webhook_id}/{webhook_token}/callback")
async def callback(fake: FakeDiscord, req: Req) -> Reply:
    rec = fake.world.interactions.get(req.id("webhook_id"))
    if rec is None or rec.token != req.params["webhook_token"]:
        raise unknown_interaction()
    now = time.monotonic()
    status = 500
    try:
        reply = _respond(fake, rec, req, now)
        status = reply.status
        return reply
    except DiscordError as exc:
        status = exc.status
        raise
    finally:
        files = tuple((f.filename, len(f.content)) for f in req.files)
        answer = Callback(int(req.body.get("type") or 0), req.body.get("data"), status, now, files)
        rec.callbacks.append(answer)
        if rec.first_callback is not None and not rec.first_callback.done():
            rec.first_callback.set_result(answer)
        fake.world.changed()


def token_record(fake: FakeDiscord, req: Req) -> InteractionRecord:
    if req.id("webhook_id") != fake.world.application_id:
        raise unknown_webhook()
    rec = fake.world.by_token.get(req.params["webhook_token"])
    if rec is None:
        raise invalid_webhook_token()
    if fake.rules.enforce_token_lifetime and time.monotonic() > rec.expires_at:
        raise invalid_webhook_token()
    if not rec.acknowledged:
        raise unknown_webhook()
    if rec.channel.deleted:
        raise unknown_channel()  # nothing can be posted or edited in a deleted channel
    return rec


def token_message(fake: FakeDiscord, rec: InteractionRecord, which: str) -> Message:
    if which == "@original":
        message_id = rec.original_id
    else:
        message_id = int(which) if which.isdigit() else None
        if message_id is not None and not rec.owns(message_id):
            message_id = None
    message = fake.world.messages.get(message_id or 0)
    if message is None or message.deleted:
        raise unknown_message()
    return message


@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def get_token_message(fake: FakeDiscord, req: Req) -> Reply:
    rec = token_record(fake, req)
    message = token_message(fake, rec, req.params.get("message_id", "@original"))
    return Reply(body=fake.world.message_payload(message))


@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def edit_token_message(fake: FakeDiscord, req: Req) -> Reply:
    rec = token_record(fake, req)
    message = token_message(fake, rec, req.params.get("message_id", "@original"))
    check_upload(req.files, rec.attachment_size_limit, fake.rules)
    message.flags &= ~LOADING
    apply_edit(fake.world, message, req.body, req.files, fake.rules)
    return Reply(body=fake.world.message_payload(message))


@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def delete_token_message(fake: FakeDiscord, req: Req) -> Reply:
    rec = token_record(fake, req)
    message = token_message(fake, rec, req.params.get("message_id", "@original"))
    fake.world.delete_message(message)
    return Reply(204)


@route("POST", "/webhooks/{webhook_id}/{webhook_token}")
async def followup(fake: FakeDiscord, req: Req) -> Reply:
    rec = token_record(fake, req)
    world = fake.world
    check_upload(req.files, rec.attachment_size_limit, fake.rules)
    original = world.messages.get(rec.original_id or 0)
    if rec.response_type == 5 and original and original.loading and not original.deleted:
        # Discord: the first followup after a "thinking" defer becomes that message.
        original.flags &= ~LOADING
        body = {k: v for k, v in req.body.items() if k != "flags"}
        apply_edit(world, original, body, req.files, fake.rules)
        message = original
    else:
        extra = {"webhook_id": world.application_id, "interaction": metadata(fake, rec)}
        message = new_message(
            world, rec.channel, world.bot_user, req.body, req.files, fake.rules, **extra
        )
        if message.ephemeral:
            message.visible_to = frozenset({rec.user.id})
        world.add_message(message)
        rec.followup_ids.append(message.id)
    if req.query.get("wait") in ("0", "false", "False"):
        return Reply(204)
    return Reply(body=world.message_payload(message))
