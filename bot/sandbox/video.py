"""The MP4 the sandbox serves, optionally padded to an exact size to test upload limits.

Padding appends one top-level `free` box, which players skip, so the file stays a valid MP4.
The padding is streamed from one shared block of zeros: a 100 MB answer costs no 100 MB copy.
"""

from __future__ import annotations

import struct
from functools import cache
from importlib import resources

from aiohttp import web

_ZEROS = memoryview(bytes(1 << 20))
_MAX_32 = 0xFFFFFFFF


@cache
def sample_mp4() -> bytes:
    """The shipped 2 s, 24 fps, H.264 test clip."""
    return resources.files("bot.sandbox").joinpath("sample.mp4").read_bytes()


def free_box_header(size: int) -> bytes:
    """The header of a `free` box that is `size` bytes long in total (header included)."""
    if size < 8:
        raise ValueError(f"a free box is at least 8 bytes, not {size}")
    if size <= _MAX_32:
        return struct.pack(">I4s", size, b"free")
    # Boxes past 4 GiB use size 1 and a 64-bit "largesize" after the type.
    return struct.pack(">I4sQ", 1, b"free", size)


def padding_header(total: int | None) -> tuple[bytes, int]:
    """The free box header and the number of zero bytes after it, to reach `total` bytes."""
    base = len(sample_mp4())
    if total is None or total == base:
        return b"", 0
    header = free_box_header(total - base)
    return header, total - base - len(header)


def check_video_bytes(total: int | None) -> None:
    """Raise ValueError if the MP4 cannot be padded to exactly `total` bytes."""
    base = len(sample_mp4())
    if total is not None and total != base and total < base + 8:
        raise ValueError(f"video_bytes must be {base} (unpadded) or at least {base + 8}")


async def send_video(request: web.Request, total: int | None) -> web.StreamResponse:
    """Stream the sample plus its padding, with an exact Content-Length."""
    check_video_bytes(total)
    header, zeros = padding_header(total)
    sample = sample_mp4()
    response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
    response.content_length = len(sample) + len(header) + zeros
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    await response.write(sample + header)
    while zeros > 0:
        chunk = min(zeros, len(_ZEROS))
        await response.write(_ZEROS[:chunk])
        zeros -= chunk
    await response.write_eof()
    return response
