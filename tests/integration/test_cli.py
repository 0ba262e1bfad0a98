"""`python -m bot` as a user runs it: real subprocesses, a clean environment, a scratch folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "MTAxOTk5ODg3.Gx7-cli-test-token.do-not-print-Zq81"
API_TOKEN = "rc-cli-test-api-token-do-not-print-4410"
SETTINGS_PREFIXES = ("DISCORD_", "RUNCOMFY_", "QUOTA_")
SETTINGS_NAMES = {"LOG_LEVEL", "DATABASE_PATH", "JOB_TIMEOUT_SECONDS", "CARD_EDIT_INTERVAL"}
DEMO_ARGS = [
    "demo",
    "a paper boat on a stormy sea",
    "--resolution",
    "720p",
    "--ratio",
    "9:16",
    "--duration",
    "4",
    "--seed",
    "7",
]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(SETTINGS_PREFIXES) and k not in SETTINGS_NAMES
    }
    # This tree's code, whatever is installed in the venv.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def start(cwd: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean_env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = 60) -> Run:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"timed out; stdout={out!r} stderr={err!r}")
    return Run(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def run(cwd: Path, *args: str, **env: str) -> Run:
    return finish(start(cwd, *args, **env))


def one_config_error(result: Run, name: str) -> str:
    assert result.code == 2, result
    assert "Traceback" not in result.both
    lines = result.err.splitlines()
    assert len(lines) == 1, lines
    assert name in lines[0] and "configuration error" in lines[0]
    return lines[0]


@dataclass
class Demo:
    cwd: Path
    out: Path
    proc: subprocess.Popen[bytes]


@pytest.fixture(scope="module", autouse=True)
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo takes seconds (the sandbox's own queue and run times), so it starts first and
    runs while the other tests do; its test reads the result."""
    cwd = tmp_path_factory.mktemp("demo-cwd")
    out = cwd / "videos"
    running = Demo(cwd, out, start(cwd, *DEMO_ARGS, "--out", str(out)))
    yield running
    if running.proc.poll() is None:
        running.proc.kill()
        running.proc.wait()


# --- configuration errors ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["run"]])
def test_without_discord_token_one_line_and_exit_2(tmp_path: Path, args: list[str]):
    result = run(tmp_path, *args)
    line = one_config_error(result, "DISCORD_TOKEN")
    assert line.startswith("seedance-bot: configuration error: DISCORD_TOKEN")
    assert result.out == ""
    assert list(tmp_path.iterdir()) == []  # no database created for a run that cannot start


def test_a_blank_discord_token_counts_as_missing(tmp_path: Path):
    one_config_error(run(tmp_path, DISCORD_TOKEN="   "), "DISCORD_TOKEN")


def test_malformed_quota_credits_exit_2_naming_it(tmp_path: Path):
    result = run(tmp_path, QUOTA_CREDITS_PER_DAY="abc", DISCORD_TOKEN=TOKEN)
    line = one_config_error(result, "QUOTA_CREDITS_PER_DAY")
    assert "whole number" in line and "abc" not in line
    assert TOKEN not in result.both


@pytest.mark.parametrize(
    ("command", "name", "bad"),
    [
        ([], "RUNCOMFY_BASE_URL", "ftp://x"),
        ([], "QUOTA_RESOLUTION_WEIGHTS", "480p=1"),
        (DEMO_ARGS, "RUNCOMFY_POLL_INTERVAL", "nan"),
        (DEMO_ARGS, "LOG_LEVEL", "loud"),
    ],
)
def test_the_tokens_never_appear_in_a_failing_run(
    tmp_path: Path, command: list[str], name: str, bad: str
):
    result = run(
        tmp_path,
        *command,
        DISCORD_TOKEN=TOKEN,
        RUNCOMFY_API_TOKEN=API_TOKEN,
        **{name: bad},
    )
    one_config_error(result, name)
    assert TOKEN not in result.both and API_TOKEN not in result.both
    assert TOKEN[:12] not in result.both and API_TOKEN[:12] not in result.both


def test_a_token_in_the_wrong_variable_is_not_echoed(tmp_path: Path):
    # Someone pastes the token into the URL variable by mistake.
    result = run(tmp_path, RUNCOMFY_BASE_URL=API_TOKEN, DISCORD_TOKEN=TOKEN)
    one_config_error(result, "RUNCOMFY_BASE_URL")
    assert API_TOKEN not in result.both and TOKEN not in result.both


def test_the_token_never_appears_when_discord_is_unreachable(tmp_path: Path):
    # A run that gets past the settings and fails later, with debug logging on.
    result = run(
        tmp_path,
        DISCORD_TOKEN=TOKEN,
        RUNCOMFY_API_TOKEN=API_TOKEN,
        LOG_LEVEL="DEBUG",
        DISCORD_API_BASE="http://127.0.0.1:9/api/v10",
        DISCORD_GATEWAY_URL="ws://127.0.0.1:9/",
        DATABASE_PATH=str(tmp_path / "bot.db"),
    )
    assert result.code != 0
    assert TOKEN not in result.both and API_TOKEN not in result.both
    assert TOKEN.split(".")[0] not in result.both


def test_a_dotenv_in_the_working_directory_is_read(tmp_path: Path):
    (tmp_path / ".env").write_text(f"DISCORD_TOKEN={TOKEN}\nQUOTA_CREDITS_PER_DAY=abc\n")
    result = run(tmp_path)
    one_config_error(result, "QUOTA_CREDITS_PER_DAY")
    assert TOKEN not in result.both


# --- the demo ------------------------------------------------------------------------------------


def test_demo_runs_one_job_and_saves_an_mp4(demo: Demo):
    cwd, out, result = demo.cwd, demo.out, finish(demo.proc, timeout=90)
    assert result.code == 0, result
    assert "Traceback" not in result.both
    lines = result.out.splitlines()
    assert any("720p" in ln and "9:16" in ln and "4 s" in ln and "seed 7" in ln for ln in lines)
    assert any("cost 8 credits" in ln for ln in lines)  # 4 s x the default 720p weight of 2

    def first(word: str) -> int:
        return next(i for i, ln in enumerate(lines) if re.search(word, ln, re.IGNORECASE))

    assert first(r"\bqueued\b") < first(r"\bgenerating\b") < first(r"\bdone\b")
    videos = list(out.glob("*.mp4"))
    assert len(videos) == 1
    data = videos[0].read_bytes()
    assert len(data) > 1000 and data[4:8] == b"ftyp"
    assert str(videos[0]) in result.out
    # Nothing else is left behind in the working directory (the bookkeeping is throwaway).
    assert sorted(p.name for p in cwd.iterdir()) == [out.name]


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--duration", "13", "Duration"),
        ("--resolution", "4k", "Resolution"),
        ("--ratio", "2:1", "Aspect Ratio"),
        ("--seed", "4294967296", "Seed"),
    ],
)
def test_demo_with_an_invalid_option_exits_2_and_creates_nothing(
    tmp_path: Path, option: str, value: str, field: str
):
    out = tmp_path / "videos"
    result = run(tmp_path, "demo", "a paper boat", option, value, "--out", str(out))
    assert result.code == 2, result
    assert "Traceback" not in result.both
    [line] = result.err.splitlines()
    assert line.startswith("error: ") and field in line
    assert "sandbox" not in result.out  # stopped before starting anything
    assert list(tmp_path.iterdir()) == []


def test_demo_reports_every_problem_at_once(tmp_path: Path):
    result = run(tmp_path, "demo", "   ", "--duration", "1", "--ratio", "2:1")
    assert result.code == 2
    assert len(result.err.splitlines()) == 3
    assert "Traceback" not in result.both
    assert list(tmp_path.iterdir()) == []


def test_demo_with_a_doubled_minus_sign_exits_2(tmp_path: Path):
    result = run(tmp_path, "demo", "a paper boat", "--duration=--5", "--out", str(tmp_path / "v"))
    assert result.code == 2 and "Traceback" not in result.both
