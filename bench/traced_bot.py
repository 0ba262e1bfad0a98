"""Run the bot exactly as `python -m bot` does, with tracemalloc on, and write a heap snapshot
on request: the launcher `bench/soak.py --trace DIR` uses to find what memory grows with jobs.

    SEEDANCE_TRACE_DIR=/tmp/trace python bench/traced_bot.py [bot arguments]

Environment:
    SEEDANCE_TRACE_DIR     where snapshots go (required)
    SEEDANCE_TRACE_FRAMES  frames kept per allocation (default 25; 0: no tracemalloc, no
                           .snap, the .json only: RSS and allocator figures at full speed)

On SIGUSR1 the launcher reads a name from `DIR/request` (else it numbers the snapshots), runs
`gc.collect()`, and writes `DIR/<name>.snap` (`tracemalloc.Snapshot.dump`) and `DIR/<name>.json`
(traced size and peak, tracemalloc's own overhead, glibc's `mallinfo2` and `malloc_info` per
arena, pymalloc's totals from `sys._debugmallocstats()`, sqlite's own memory, the thread count,
the process's RSS and a census by type of the objects the garbage collector tracks), each
through a temporary file and a rename, the JSON last: its appearance says both are complete.
A name followed by ` trim` also has glibc's `malloc_trim(0)` run after the figures, and RSS and
`mallinfo2` read again (`after_trim`).
The handler runs in the main thread between two bytecodes, like any Python signal handler, so
the event loop is paused while it writes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dis
import gc
import json
import os
import runpy
import signal
import sys
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType
from xml.etree import ElementTree

ENV_DIR = "SEEDANCE_TRACE_DIR"
ENV_FRAMES = "SEEDANCE_TRACE_FRAMES"


MALLINFO2_FIELDS = (
    "arena",  # bytes obtained with sbrk (the main arena's heap)
    "ordblks",  # free chunks
    "smblks",
    "hblks",  # mmapped chunks
    "hblkhd",  # bytes in mmapped chunks
    "usmblks",
    "fsmblks",
    "uordblks",  # bytes in use
    "fordblks",  # bytes free inside the arenas (fragmentation)
    "keepcost",  # releasable at the top of the heap
)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2_FIELDS]


def mallinfo() -> dict[str, int]:
    """glibc's `mallinfo2()` (all arenas), or nothing when the libc has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return {}
    try:
        fn = ctypes.CDLL(name).mallinfo2
    except (OSError, AttributeError):
        return {}
    fn.restype = _Mallinfo2
    info = fn()
    return {field: int(getattr(info, field)) for field in MALLINFO2_FIELDS}


def sqlite_memory() -> dict[str, int]:
    """What sqlite holds from malloc (page caches, statements), all connections together."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        return {}
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    return {"used": lib.sqlite3_memory_used(), "highwater": lib.sqlite3_memory_highwater(0)}


def malloc_heaps() -> list[dict[str, int]]:
    """glibc's `malloc_info()` per arena (heap 0 is the main thread's, the others belong to
    threads: aiosqlite's, the executor's): bytes from the system, bytes free inside, and the
    free chunks by size (small < 1 KiB, medium < 64 KiB, large)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return []
    libc = ctypes.CDLL(name)
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        handle = libc.fopen(out.name.encode(), b"w")
        if not handle:
            return []
        libc.malloc_info(0, handle)
        libc.fclose(handle)
        root = ElementTree.parse(out.name).getroot()
    heaps = []
    for heap in root.iter("heap"):
        found = {"nr": int(heap.get("nr", "-1")), "free_small": 0, "free_medium": 0}
        found["free_large"] = 0
        for size in heap.iter("size"):
            total, top = int(size.get("total", "0")), int(size.get("to", "0"))
            band = "free_small" if top < 1024 else "free_medium" if top < 65536 else "free_large"
            found[band] += total
        for free in heap.iter("total"):
            found["free_" + free.get("type", "?")] = int(free.get("size", "0"))
        for system in heap.iter("system"):
            found["system_" + system.get("type", "?")] = int(system.get("size", "0"))
        heaps.append(found)
    return heaps


def malloc_trim() -> dict[str, int]:
    """glibc's `malloc_trim(0)`: hand every free page of every arena back to the system."""
    name = ctypes.util.find_library("c")
    if name is None:
        return {}
    try:
        released = int(ctypes.CDLL(name).malloc_trim(0))
    except (OSError, AttributeError):
        return {}
    return {"released": released}


def rss_bytes() -> int:
    """Resident set size from /proc (Linux), 0 elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _type_name(obj: object) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def pymalloc_stats() -> dict[str, int]:
    """The totals of `sys._debugmallocstats()` (pymalloc's arenas, pools and blocks), which
    it prints on the C stderr: read back through a temporary file in place of fd 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as out:
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
            libc = ctypes.util.find_library("c")
            if libc is not None:
                ctypes.CDLL(libc).fflush(None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    stats: dict[str, int] = {}
    for line in text.splitlines():
        label, sep, value = line.partition("=")
        number = value.strip().replace(",", "")
        if sep and label.startswith("#") and number.isdigit():
            stats[label.strip("# ").strip()] = int(number)
    return stats


class Snapshotter:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def name(self) -> str:
        request = self.folder / "request"
        try:
            wanted = request.read_text().strip()
            request.unlink()
        except OSError:
            wanted = ""
        self.count += 1
        return wanted or f"snap-{self.count:04d}"

    def take(self) -> None:
        name, _, extra = self.name().partition(" ")
        gc.collect()
        census = Counter(_type_name(o) for o in gc.get_objects())
        if tracemalloc.is_tracing():
            # What this handler allocated (the census above) is not the bot's: leave it out.
            snap = tracemalloc.take_snapshot().filter_traces(_HANDLER_FILTERS)
            target = self.folder / f"{name}.snap"
            snap.dump(str(target) + ".tmp")
            os.replace(str(target) + ".tmp", target)
            del snap
        current, peak = tracemalloc.get_traced_memory()
        facts = {
            "name": name,
            "traced_bytes": current,
            "traced_peak_bytes": peak,
            "tracemalloc_overhead_bytes": tracemalloc.get_tracemalloc_memory(),
            "rss_bytes": rss_bytes(),
            "gc_objects": sum(census.values()),
            "gc_garbage": len(gc.garbage),
            "types": dict(census.most_common()),
            "mallinfo2": mallinfo(),
            "malloc_heaps": malloc_heaps(),
            "pymalloc": pymalloc_stats(),
            "sqlite": sqlite_memory(),
            "threads": len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self") else 0,
        }
        if extra == "trim":
            trimmed = malloc_trim()
            facts["after_trim"] = {"rss_bytes": rss_bytes(), "mallinfo2": mallinfo(), **trimmed}
        info = self.folder / f"{name}.json"
        info.with_suffix(".tmp").write_text(json.dumps(facts, indent=1))
        os.replace(info.with_suffix(".tmp"), info)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        try:
            self.take()
        except Exception as exc:  # a failed snapshot must not stop the bot
            print(f"traced_bot: snapshot failed: {exc!r}", file=sys.stderr, flush=True)


# Every allocation made while a snapshot is taken has the handler's frame in its traceback.
_HANDLER_FILTERS = [
    tracemalloc.Filter(False, __file__, lineno, all_frames=True)
    for _, lineno in dis.findlinestarts(Snapshotter.on_signal.__code__)
]


def main() -> None:
    folder = os.environ.get(ENV_DIR)
    if not folder:
        sys.exit(f"traced_bot: set {ENV_DIR} to the snapshot folder")
    frames = int(os.environ.get(ENV_FRAMES, "25"))
    Path(folder).mkdir(parents=True, exist_ok=True)
    if frames > 0:  # 0: no tracing, only the census, malloc's and pymalloc's figures
        tracemalloc.start(frames)
    snapshotter = Snapshotter(Path(folder))
    signal.signal(signal.SIGUSR1, snapshotter.on_signal)
    # As `python -m bot`: the current folder first on sys.path (not this script's), the
    # package's __main__ run as __main__, and argv as the bot would see it.
    sys.path[0] = os.getcwd()
    sys.argv = ["-m", *sys.argv[1:]]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
