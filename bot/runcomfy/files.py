"""Writing a download to disk without stalling the event loop, and removing it again."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib

import aiohttp

from bot.core import provider_errors as e

CHUNK_BYTES = 64 * 1024


async def stream_to(resp: aiohttp.ClientResponse, dest: pathlib.Path, max_bytes: int) -> int:
    # File calls go to a thread so that a slow disk never stalls the bot's event loop.
    fh = await asyncio.to_thread(dest.open, "wb")
    try:
        written = 0
        async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
            written += len(chunk)
            if written > max_bytes:
                raise e.TooLarge(max_bytes, resp.content_length)
            await asyncio.to_thread(fh.write, chunk)
        return written
    finally:
        await asyncio.to_thread(fh.close)


def remove_file(path: pathlib.Path) -> None:
    # Synchronous on purpose (one quick syscall): it must run even while the task is cancelled.
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
