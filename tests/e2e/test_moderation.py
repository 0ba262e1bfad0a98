"""Cancelling and watching jobs: owners, moderators and bystanders, as each of them sees it."""

from __future__ import annotations

from bot.sandbox import Sandbox
from tests.e2e.conftest import Bot, World
from tests.e2e.test_durability import results, wait_provider_status
from tests.e2e.test_quotas import (
    command,
    quota_text,
    rows,
    start_video,
    used_by,
    wait_final,
    wait_queued,
)
from tests.e2e.test_video import card_status
from tests.fakediscord import (
    DEFAULT_MEMBER_PERMISSIONS,
    EPHEMERAL,
    InteractionHandle,
    Member,
    Message,
)

CANCELLED_MARK = "🚫 Cancelled by"


def cancel_id(job_id: int) -> str:
    return f"job:cancel:{job_id}"


async def answer(handle: InteractionHandle) -> Message:
    """The ephemeral answer to a cancel (a deferred "thinking" reply that is then filled in)."""
    reply = await handle.wait_original(lambda m: not m.loading and bool(m.content))
    assert reply.flags & EPHEMERAL, f"answered publicly: {reply.content!r}"
    return reply


async def press_cancel(world: World, member: Member, card: Message, job_id: int) -> Message:
    return await answer(await world.fake.press(member, card, cancel_id(job_id)))


async def jobs_cancel(
    world: World, member: Member, job_id: int, reason: str | None = None
) -> Message:
    options: dict[str, object] = {"job": job_id}
    if reason is not None:
        options["reason"] = reason
    handle = await world.fake.invoke(member, world.channel, "jobs", options, "cancel")
    return await answer(handle)


async def choices(world: World, member: Member, typed: str = "") -> list[dict[str, object]]:
    return await world.fake.autocomplete(
        member, world.channel, "jobs", {"job": typed}, "job", "cancel"
    )


def request_id_of(generator: Sandbox, prompt: str) -> str:
    [request_id] = [r for r, j in generator.state.jobs.items() if j.payload["text"] == prompt]
    return request_id


def fields_of(message: Message) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


def page_lines(message: Message) -> list[str]:
    """The lines of a /jobs list or /jobs queue page (an embed, so it fits any data)."""
    [embed] = message.embeds
    return str(embed["description"]).splitlines()


def public_messages(world: World) -> list[Message]:
    return [m for m in world.fake.messages(world.channel) if m.visible_to is None]


# --- moderators cancel ------------------------------------------------------------------------


async def test_a_moderator_cancels_a_strangers_queued_job_from_its_card(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "a queued job", duration=4)
    await wait_queued(world, card)
    assert await used_by(bot, world.alice) == 4

    reply = await press_cancel(world, world.mod, card, job_id)
    assert reply.content == f"Job #{job_id}: Cancelled; the credits were refunded."
    assert reply.visible_to == frozenset({world.mod.id})
    status = await wait_final(world, card)
    assert status == f"{CANCELLED_MARK} <@{world.mod.id}>; the credits were refunded"
    assert card.components == [] and fields_of(card)["Cost"] == "~~4 credits~~ refunded"

    assert await used_by(bot, world.alice) == 0
    assert "60 of 60 credits left" in await quota_text(world, world.alice)
    request_id = request_id_of(generator, "a queued job")
    assert generator.state.jobs[request_id].status == "cancelled"
    assert [e.request_id for e in generator.state.log if e.route == "cancel"] == [request_id]
    logged = await rows(bot, "SELECT job_id, actor_id, action, reason FROM moderation_log")
    assert logged == [(job_id, world.mod.id, "cancel", None)]
    [(cancelled_by,)] = await rows(bot, "SELECT cancelled_by FROM jobs WHERE id = ?", (job_id,))
    assert cancelled_by == world.mod.id
    # No log channel is set: nothing else was posted anywhere.
    assert [m.id for m in public_messages(world)] == [card.id]


async def test_a_moderator_cancel_with_a_reason_goes_to_the_log_channel_without_pings(
    world: World, bot: Bot, generator: Sandbox
):
    log_channel = world.guild.add_text_channel("mod-log")
    reply = await command(
        world, world.admin, "quota-admin", "log-channel", {"channel": log_channel}
    )
    assert reply.content == f"Moderator actions will be posted <#{log_channel.id}>."
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "off topic", duration=3)
    await wait_queued(world, card)

    reply = await jobs_cancel(world, world.mod, job_id, reason="off-topic @everyone")
    assert "Cancelled; the credits were refunded" in reply.content
    status = await wait_final(world, card)
    assert status.startswith(f"{CANCELLED_MARK} <@{world.mod.id}>")

    [post] = await world.fake.wait_for(lambda: world.fake.messages(log_channel) or None)
    assert post.content == (
        f"<@{world.mod.id}> cancelled video #{job_id} by <@{world.alice.id}>. "
        "Reason: off-topic @everyone"
    )
    assert post.allowed_mentions is not None and post.allowed_mentions["parse"] == []
    assert not post.allowed_mentions.get("users") and not post.allowed_mentions.get("roles")
    assert post.mentioned_user_ids == () and not post.mention_everyone

    # Cancelling again is harmless: no second refund, log entry or post.
    again = await jobs_cancel(world, world.mod, job_id)
    assert "already cancelled" in again.content
    refunds = await rows(bot, "SELECT amount FROM ledger WHERE kind = 'refund'")
    assert refunds == [(-3,)] and await used_by(bot, world.alice) == 0
    logged = await rows(bot, "SELECT job_id, actor_id, action, reason FROM moderation_log")
    assert logged == [(job_id, world.mod.id, "cancel", "off-topic @everyone")]
    assert len(world.fake.messages(log_channel)) == 1
    assert generator.state.count("cancel") == 1
    assert generator.state.jobs[request_id_of(generator, "off topic")].status == "cancelled"


async def test_the_owner_cancelling_is_not_a_moderator_action(
    world: World, bot: Bot, generator: Sandbox
):
    log_channel = world.guild.add_text_channel("mod-log")
    await command(world, world.admin, "quota-admin", "log-channel", {"channel": log_channel})
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "changed my mind")
    await wait_queued(world, card)
    reply = await jobs_cancel(world, world.alice, job_id)
    assert "Cancelled; the credits were refunded" in reply.content
    await wait_final(world, card)
    assert await rows(bot, "SELECT * FROM moderation_log") == []
    assert world.fake.messages(log_channel) == []


async def test_a_moderator_role_set_by_an_admin_may_cancel(
    world: World, bot: Bot, generator: Sandbox
):
    helpers = world.guild.add_role("Video helpers", DEFAULT_MEMBER_PERMISSIONS)
    carol = world.guild.add_member("carol", roles=[helpers])
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "for the helpers")
    await wait_queued(world, card)

    refused = await press_cancel(world, carol, card, job_id)
    assert "Only the member who asked for this video, or a moderator" in refused.content
    reply = await command(world, world.admin, "quota-admin", "moderators", {"role": helpers})
    assert reply.content == f"Video moderators are now <@&{helpers.id}>."
    assert [c["value"] for c in await choices(world, carol)] == [job_id]

    reply = await press_cancel(world, carol, card, job_id)
    assert "Cancelled" in reply.content
    assert (await wait_final(world, card)).startswith(f"{CANCELLED_MARK} <@{carol.id}>")


# --- members without rights -------------------------------------------------------------------


async def test_a_bystander_cannot_cancel_and_the_job_is_delivered(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "not bob's", duration=2)
    await wait_queued(world, card)

    refused = await press_cancel(world, world.bob, card, job_id)
    assert refused.content == (
        "Only the member who asked for this video, or a moderator, can cancel it."
    )
    assert refused.visible_to == frozenset({world.bob.id})
    refused = await jobs_cancel(world, world.bob, job_id, reason="I don't like it")
    assert "or a moderator, can cancel it" in refused.content
    assert card.custom_ids() == [cancel_id(job_id)]  # the card still offers alice her button

    generator.config.paused = False
    [result] = await world.fake.wait_for(lambda: results(world, job_id) or None, timeout=30)
    assert result.attachments
    assert await wait_final(world, card) == "✅ Done"
    assert generator.state.count("cancel") == 0
    assert await used_by(bot, world.alice) == 2
    assert await rows(bot, "SELECT * FROM moderation_log") == []


async def test_cancelling_a_job_that_has_started_is_explained_and_it_is_charged(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    job_id, card = await start_video(world, world.alice, "already running", duration=3)
    await wait_queued(world, card)
    request_id = await wait_provider_status(generator, "in_queue")
    generator.state.set_status(request_id, "in_progress")
    # Pressed just as it starts, before the card could drop its button.
    first = await press_cancel(world, world.alice, card, job_id)
    assert first.content.startswith(f"Job #{job_id}: It has already started generating")
    assert "already started" in first.content and "Cancelled" not in first.content
    await world.fake.wait_for(lambda: card_status(card) == "🎬 Generating…" or None, 15)
    assert card.components == []
    second = await jobs_cancel(world, world.mod, job_id)
    assert "delivered as usual" in second.content and "already started" in second.content

    generator.config.paused = False
    await world.fake.wait_for(lambda: results(world, job_id) or None, timeout=30)
    assert await wait_final(world, card) == "✅ Done"
    assert generator.state.jobs[request_id].status == "completed"
    assert await used_by(bot, world.alice) == 3
    kinds = await rows(bot, "SELECT kind FROM ledger WHERE job_id = ? ORDER BY id", (job_id,))
    assert kinds == [("reserve",), ("commit",)]
    assert await rows(bot, "SELECT * FROM moderation_log") == []
    assert len(results(world, job_id)) == 1


# --- seeing jobs ------------------------------------------------------------------------------


async def test_cancel_autocomplete_offers_only_what_the_caller_may_cancel(
    world: World, bot: Bot, generator: Sandbox
):
    generator.config.paused = True
    a1, a1_card = await start_video(world, world.alice, "alice one")
    a2, a2_card = await start_video(world, world.alice, "alice two")
    b1, b1_card = await start_video(world, world.bob, "bob one")
    for card in (a1_card, a2_card, b1_card):
        await wait_queued(world, card)

    alice_sees = await choices(world, world.alice)
    assert alice_sees == [
        {"name": f"#{a1} · alice one", "value": a1},
        {"name": f"#{a2} · alice two", "value": a2},
    ]
    assert [c["value"] for c in await choices(world, world.bob)] == [b1]
    assert [c["value"] for c in await choices(world, world.mod)] == [a1, a2, b1]
    assert [c["value"] for c in await choices(world, world.mod, f"#{b1}")] == [b1]

    # A job that has started can no longer be cancelled, so it is not offered.
    generator.state.set_status(request_id_of(generator, "alice one"), "in_progress")
    await world.fake.wait_for(lambda: "Generating" in card_status(a1_card) or None, 15)
    assert [c["value"] for c in await choices(world, world.alice)] == [a2]
    assert [c["value"] for c in await choices(world, world.mod)] == [a2, b1]


async def test_the_server_queue_is_for_moderators(world: World, bot: Bot, generator: Sandbox):
    empty = await command(world, world.mod, "jobs", "queue")
    assert empty.content == "Nothing is queued or running in this server."
    generator.config.paused = True
    a1, a1_card = await start_video(world, world.alice, "alice queued")
    b1, b1_card = await start_video(world, world.bob, "bob running")
    await wait_queued(world, a1_card)
    await wait_queued(world, b1_card)
    generator.state.set_status(request_id_of(generator, "bob running"), "in_progress")
    await world.fake.wait_for(lambda: "Generating" in card_status(b1_card) or None, 15)

    queue = await command(world, world.mod, "jobs", "queue")
    first, second = page_lines(queue)
    assert first.startswith(f"**#{a1}**") and "⏳ Queued" in first and "“alice queued”" in first
    assert first.endswith(f"by <@{world.alice.id}>")
    assert second.startswith(f"**#{b1}**") and "🎬 Generating…" in second
    assert second.endswith(f"by <@{world.bob.id}>")
    assert queue.mentioned_user_ids == ()

    refused = await command(world, world.bob, "jobs", "queue")
    assert refused.content == "Only moderators can see the whole server's queue."


async def test_jobs_list_and_show_tell_the_owner_what_happened(
    world: World, bot: Bot, generator: Sandbox
):
    done_id, done_card = await start_video(world, world.alice, "delivered one", duration=2)
    assert await wait_final(world, done_card) == "✅ Done"
    generator.state.next_outcome(failed=True, error="The prompt was flagged by the safety filter")
    failed_id, failed_card = await start_video(world, world.alice, "failed one")
    await wait_final(world, failed_card)
    generator.config.paused = True
    cancelled_id, cancelled_card = await start_video(world, world.alice, "cancelled one")
    await wait_queued(world, cancelled_card)
    await press_cancel(world, world.alice, cancelled_card, cancelled_id)
    await wait_final(world, cancelled_card)
    [result] = results(world, done_id)
    base = f"https://discord.com/channels/{world.guild.id}/{world.channel.id}"

    listed = await command(world, world.alice, "jobs", "list")
    newest, middle, oldest = page_lines(listed)
    assert newest.startswith(f"**#{cancelled_id}**") and "🚫 Cancelled" in newest
    assert newest.endswith(f"{base}/{cancelled_card.id}")
    assert middle.startswith(f"**#{failed_id}**") and "❌ Failed" in middle
    assert middle.endswith(f"{base}/{failed_card.id}")
    assert oldest.startswith(f"**#{done_id}**") and "✅ Done" in oldest
    assert oldest.endswith(f"{base}/{result.id}")  # the message with the video
    assert "“delivered one”" in oldest and "<t:" in oldest

    shown = await command(world, world.alice, "jobs", "show", {"job": done_id})
    [embed] = shown.embeds
    fields = fields_of(shown)
    assert embed["title"] == f"Video #{done_id}" and fields["Status"] == "✅ Done"
    assert fields["Video link"].startswith(generator.url) and fields["Video link"].endswith(".mp4")
    assert fields["Where"] == f"{base}/{result.id}"
    assert fields["Cost"] == "2 credits"

    shown = await command(world, world.alice, "jobs", "show", {"job": failed_id})
    fields = fields_of(shown)
    assert fields["Status"] == "❌ Failed" and "safety filter" in fields["What happened"]
    assert "refunded" in fields["Cost"] and "Video link" not in fields

    nothing = await command(world, world.bob, "jobs", "list")
    assert nothing.content == "You have not made any videos here yet: try /video."
    missing = await command(world, world.alice, "jobs", "show", {"job": 9999})
    assert missing.content == "There is no job #9999 in this server."
    # Only the channel's public messages: three cards and one result, no leaked answers.
    assert len(public_messages(world)) == 4
    assert generator.state.count("submit") == 3
