"""Shards across processes (issue 13): SHARD_COUNT / SHARD_IDS, which servers a process
serves (Discord's `(guild_id >> 22) % count`), its share of the global budget, and a
heartbeat of its own."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings
from bot.ops.health import HEARTBEAT_KEY, heartbeat_key


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


def test_without_shards_one_process_serves_everything():
    s = settings()
    assert (s.shard_count, s.shard_ids, s.job_lease_seconds) == (None, None, 30.0)
    assert s.discord_share == 1.0
    assert s.runs_guild(123 << 22) and s.runs_guild(124 << 22)


def test_a_process_serves_the_guilds_of_its_shards_only():
    s = settings(SHARD_COUNT="3", SHARD_IDS="0,2", JOB_LEASE_SECONDS="12")
    assert (s.shard_count, s.shard_ids, s.job_lease_seconds) == (3, (0, 2), 12.0)
    assert [s.runs_guild(n << 22) for n in range(6)] == [True, False, True] * 2
    assert s.runs_guild((4 << 22) | 0x3FFFFF) is False  # the low 22 bits do not count
    assert s.discord_share == pytest.approx(2 / 3)


def test_a_count_without_ids_runs_every_shard_here():
    s = settings(SHARD_COUNT="2")
    assert s.shard_ids is None and s.discord_share == 1.0 and s.runs_guild(1 << 22)


@pytest.mark.parametrize(
    ("env", "name", "says"),
    [
        ({"SHARD_IDS": "0"}, "SHARD_IDS", "needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "2"}, "SHARD_IDS", "from 0 to 1"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,0"}, "SHARD_IDS", "distinct"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "a"}, "SHARD_IDS", "comma-separated"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "-1"}, "SHARD_IDS", "distinct shard numbers from 0"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT", ""),
        ({"JOB_LEASE_SECONDS": "0.5"}, "JOB_LEASE_SECONDS", "at least 1 second"),
    ],
)
def test_bad_shard_settings_name_the_variable(env: dict[str, str], name: str, says: str):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.name == name and says in str(caught.value)


def test_each_process_beats_under_its_own_key():
    assert heartbeat_key(None) == HEARTBEAT_KEY
    assert heartbeat_key((0, 2)) == "heartbeat:shards=0,2"
    assert heartbeat_key((1,)) != heartbeat_key((0,))
