"""Compare tracemalloc snapshots (from `bench/soak.py --trace DIR`): what grew, by where it was
allocated, with size and count deltas.

    python bench/tracediff.py FIRST.snap [MIDDLE.snap ...] LAST.snap
        [--key lineno|filename|traceback|project] [--depth 8] [--top 25] [--show 12]
        [--grep TEXT] [--per N] [--types]

Groups are ranked by their growth from the first snapshot to the last; every snapshot given
shows the group's size, so a steady rise (grows with jobs) can be told from a step (a cache
filling up). `--key`: `lineno` the allocating line; `filename` its file; `traceback` the
innermost `--depth` frames; `project` the allocating line and the innermost line of the bot's
own code (bot/, cogs/, db/) that led to it. Frames of importlib, tracemalloc and this
launcher are left out. `--grep` keeps allocations with TEXT in one of their frames' file
names. `--per N` adds each group's growth per N of the unit given by the snapshots' names when
they are numbers (the soak names them by finished jobs), e.g. bytes per 1,000 jobs.
`--types` reads instead the `<name>.json` beside each snapshot (bench/traced_bot.py writes
it) and shows which types of objects the garbage collector tracks grew in number, with
the traced size, RSS and glibc's free bytes at each.
"""

from __future__ import annotations

import argparse
import json
import linecache
import sys
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

Frame = tuple[str, int]
Key = tuple[Frame, ...]
IGNORED = ("<frozen importlib._bootstrap", "tracemalloc.py", "traced_bot.py", "<unknown>")
PROJECT_DIRS = ("/bot/", "/cogs/", "/db/")


@dataclass
class Group:
    sizes: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("snapshots", nargs="+", type=Path)
    p.add_argument(
        "--key", choices=("lineno", "filename", "traceback", "project"), default="lineno"
    )
    p.add_argument("--depth", type=int, default=8, help="frames a traceback key keeps")
    p.add_argument("--top", type=int, default=25, help="groups shown")
    p.add_argument("--show", type=int, default=12, help="frames printed for each group")
    p.add_argument("--grep", default="", help="only allocations with this in a frame's file")
    p.add_argument("--per", type=int, default=0, help="growth per this many (named) units")
    p.add_argument("--types", action="store_true", help="object counts by type (the .json)")
    args = p.parse_args(argv)
    if len(args.snapshots) < 2:
        p.error("give at least two snapshots")
    return args


def is_project(filename: str) -> bool:
    return "site-packages" not in filename and any(d in filename for d in PROJECT_DIRS)


def keyer(kind: str, depth: int) -> Callable[[Key], Key]:
    """From a trace's frames (innermost first, ignored ones left out) to its group's key."""

    def key(frames: Key) -> Key:
        if not frames:
            return (("<no frame>", 0),)
        if kind == "filename":
            return ((frames[0][0], 0),)
        if kind == "lineno":
            return frames[:1]
        if kind == "traceback":
            return frames[:depth]
        own = next((f for f in frames if is_project(f[0])), None)
        return frames[:1] if own is None or own == frames[0] else (frames[0], own)

    return key


def raw_traces(snap: tracemalloc.Snapshot) -> Iterable[tuple[int, Key]]:
    """(size, frames innermost first) of every trace: the snapshot's raw tuples, which keep
    `_tracemalloc`'s order (a `Traceback` reverses it) and cost no object per frame."""
    traces: list[tuple[int, int, Key, int]] = snap.traces._traces  # type: ignore[attr-defined]
    for _domain, size, frames, *_ in traces:
        yield size, frames


def kept(frames: Key) -> Key:
    return tuple(f for f in frames if not any(bit in f[0] for bit in IGNORED))


def group(
    snapshots: list[tracemalloc.Snapshot], key: Callable[[Key], Key], grep: str
) -> dict[Key, Group]:
    groups: dict[Key, Group] = {}
    for i, snap in enumerate(snapshots):
        for size, raw in raw_traces(snap):
            frames = kept(raw)
            if grep and not any(grep in f[0] for f in frames):
                continue
            g = groups.setdefault(key(frames), Group())
            while len(g.sizes) <= i:
                g.sizes.append(0)
                g.counts.append(0)
            g.sizes[i] += size
            g.counts[i] += 1
    for g in groups.values():
        g.sizes += [0] * (len(snapshots) - len(g.sizes))
        g.counts += [0] * (len(snapshots) - len(g.counts))
    return groups


def units(paths: list[Path]) -> list[int] | None:
    try:
        return [int(p.stem) for p in paths]
    except ValueError:
        return None


def kb(n: int) -> str:
    return f"{n / 1024:+.1f}" if n else "0"


def describe(frame: Frame) -> str:
    filename, lineno = frame
    short = filename
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in filename:
            short = filename.split(marker, 1)[1]
            break
    source = linecache.getline(filename, lineno).strip()
    return f"{short}:{lineno}" + (f"  {source}" if source else "")


def report(args: argparse.Namespace) -> None:
    snapshots = [tracemalloc.Snapshot.load(str(p)) for p in args.snapshots]
    names = [p.stem for p in args.snapshots]
    groups = group(snapshots, keyer(args.key, args.depth), args.grep)
    totals = [sum(g.sizes[i] for g in groups.values()) for i in range(len(snapshots))]
    counts = [sum(g.counts[i] for g in groups.values()) for i in range(len(snapshots))]
    at = units(args.snapshots)
    span = at[-1] - at[0] if at is not None and at[-1] != at[0] else 0
    print(
        "traced  "
        + "  ".join(
            f"{n}: {s / 2**20:.2f} MB ({c:,})"
            for n, s, c in zip(names, totals, counts, strict=True)
        )
    )
    print(
        f"total growth {kb(totals[-1] - totals[0])} KiB, {counts[-1] - counts[0]:+,} blocks", end=""
    )
    if span and args.per:
        print(f"; {(totals[-1] - totals[0]) / span * args.per:+,.0f} B per {args.per:,}")
    else:
        print()
    ranked = sorted(groups.items(), key=lambda kv: kv[1].sizes[-1] - kv[1].sizes[0], reverse=True)
    shown = [kv for kv in ranked[: args.top] if kv[1].sizes[-1] != kv[1].sizes[0]]
    for k, g in shown:
        grow = g.sizes[-1] - g.sizes[0]
        line = f"\n{kb(grow)} KiB, {g.counts[-1] - g.counts[0]:+,} blocks"
        if span and args.per:
            line += f" ({grow / span * args.per:+,.0f} B per {args.per:,})"
        line += "   KiB at each: " + " ".join(f"{s / 1024:.1f}" for s in g.sizes)
        print(line)
        for frame in k[: args.show]:
            print("    " + describe(frame))
    shrunk = sum(g.sizes[-1] - g.sizes[0] for _, g in ranked if g.sizes[-1] < g.sizes[0])
    print(f"\n(all groups that shrank: {kb(shrunk)} KiB)")


def census(args: argparse.Namespace) -> None:
    facts = [json.loads(p.with_suffix(".json").read_text()) for p in args.snapshots]
    for label, key in (("traced MB", "traced_bytes"), ("rss MB", "rss_bytes")):
        print(f"{label:>18} " + " ".join(f"{f[key] / 2**20:9.2f}" for f in facts))
    free = [f.get("mallinfo2", {}).get("fordblks", 0) for f in facts]
    print(f"{'malloc free MB':>18} " + " ".join(f"{n / 2**20:9.2f}" for n in free))
    print(f"{'gc objects':>18} " + " ".join(f"{f['gc_objects']:9d}" for f in facts))
    counts: list[dict[str, int]] = [f.get("types", {}) for f in facts]
    names = set().union(*counts)
    growth = sorted(names, key=lambda n: counts[-1].get(n, 0) - counts[0].get(n, 0), reverse=True)
    print(f"\n{'growth':>7}  count at each snapshot, type")
    for name in growth[: args.top]:
        at = [c.get(name, 0) for c in counts]
        if at[-1] == at[0]:
            break
        print(f"{at[-1] - at[0]:+7d}  " + " ".join(f"{n:6d}" for n in at) + f"  {name}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.types:
        census(args)
    else:
        report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
