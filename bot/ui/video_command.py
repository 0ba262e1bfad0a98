"""`/video` built from the model catalog: one Discord option per option any model takes, with
the types, ranges and choices its schemas give, plus `model`. Nothing here is retyped by hand;
a new model file brings its options with it."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord
from discord import app_commands

from bot.core.catalog import Catalog, SlashOption
from bot.core.model_meta import MODEL_OPTION

Handler = Callable[[discord.Interaction[Any], dict[str, Any]], Awaitable[None]]
Choices = Callable[
    [discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[int]]]
]
CONTEST_OPTION = "contest"  # /video ... contest:<n>: enter the result in Contest #n
_NO_DEFAULT = inspect.Parameter.empty


def video_command(
    catalog: Catalog, handler: Handler, contests: Choices | None = None
) -> app_commands.Command[Any, ..., None]:
    """The `/video` command; `handler` gets the interaction and every option by name.
    With `contests` (the autocomplete of open contests) it has a last option, `contest`."""
    options = catalog.slash_options()

    async def video(interaction: discord.Interaction[Any], **given: Any) -> None:
        await handler(interaction, given)

    model = inspect.Parameter(
        MODEL_OPTION, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str | None
    )
    first, *rest = (_parameter(o) for o in options)  # the prompt, then the model, then the rest
    params = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        ),
        first,
        model,
        *rest,
    ]
    if contests is not None:
        params.append(
            inspect.Parameter(
                CONTEST_OPTION, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=int | None
            )
        )
    video.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    described = {o.name: o.description for o in options}
    described[MODEL_OPTION] = f"Which video model (default {catalog.default.display_name})"
    if contests is not None:
        described[CONTEST_OPTION] = "Enter the video in this contest once it is made (Contest #N)"
    choices: dict[str, list[app_commands.Choice[Any]]] = {
        o.name: [app_commands.Choice(name=label, value=value) for label, value in o.choices]
        for o in options
        if o.choices
    }
    choices[MODEL_OPTION] = [
        app_commands.Choice(name=name, value=key) for name, key in catalog.model_choices()
    ]
    video = app_commands.describe(**described)(video)
    video = app_commands.choices(**choices)(video)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="video",
        description="Turn a text prompt (or an image) into a short video",
        callback=app_commands.guild_only()(video),
    )
    if contests is not None:
        command.autocomplete(CONTEST_OPTION)(contests)
    return command


def _parameter(option: SlashOption) -> inspect.Parameter:
    annotation = _annotation(option)
    if not option.required:
        annotation = annotation | None
    default = _NO_DEFAULT if option.required else None
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _annotation(option: SlashOption) -> Any:
    if option.kind == "image":
        return discord.Attachment
    if option.kind == "boolean":
        return bool
    if option.kind == "integer":
        if option.choices:
            return int
        low = option.min_value if option.min_value is not None else -(2**53)
        high = option.max_value if option.max_value is not None else 2**53
        return app_commands.Range[int, low, high]
    if option.choices:
        return str
    low = option.min_length if option.min_length is not None else 0
    high = option.max_length if option.max_length is not None else 6000
    return app_commands.Range[str, low, high]
