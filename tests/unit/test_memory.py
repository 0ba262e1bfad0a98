"""Freed memory goes back to the system (bot/memory.py), after each retention pass."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import platform
from pathlib import Path

import pytest

from bot.core.retention import Retention
from bot.memory import release_free_memory

GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_memory_freed_through_malloc_is_returned():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    chunks = [libc.malloc(4096) for _ in range(20_000)]  # 80 MB in the main arena's heap
    for chunk in chunks:
        libc.free(chunk)  # free, but kept by glibc for reuse
    assert release_free_memory() is True


async def test_the_hook_runs_after_each_retention_pass(tmp_path: Path):
    calls: list[int] = []
    # days=0 keeps every row: the store is never asked, only the (empty) video folder swept.
    retention = Retention(None, days=0, video_dir=tmp_path, prompt_fields=[])  # type: ignore[arg-type]
    twice = asyncio.Event()

    def after_pass() -> None:
        calls.append(1)
        if len(calls) == 2:
            twice.set()

    task = asyncio.create_task(retention.run_forever(every=0.01, then=after_pass))
    try:
        await asyncio.wait_for(twice.wait(), 10)
    finally:
        task.cancel()
    assert len(calls) >= 2
