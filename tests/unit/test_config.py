"""`Settings.from_env(mapping)`: defaults, parsing, messages naming the variable, hidden secrets."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bot.config import ConfigError, Secret, Settings
from bot.core.schema import MODEL

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
TOKEN = "MTAxOTk5.discord-token-do-not-print.x9Yq"
API_TOKEN = "rc-api-token-do-not-print-7731"


class RecordingEnv(Mapping[str, str]):
    """A plain mapping that remembers which names were looked up."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self._values[key]

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return self._values.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def config_error(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    return caught.value


# --- defaults and parsing ------------------------------------------------------------------------


def test_defaults_with_an_empty_environment():
    s = Settings.from_env({})
    assert s.discord_token is None and s.runcomfy_api_token is None
    assert s.runcomfy_base_url == "https://model-api.runcomfy.net"
    assert s.runcomfy_download_hosts == ("*.runcomfy.net", "*.runcomfy.com")
    assert s.database_path == Path("data/seedance.db")
    assert s.discord_guild_ids == ()
    assert s.quota_credits_per_day == 60
    assert s.quota_max_active_jobs == 2
    assert dict(s.quota_resolution_weights) == {"480p": 1, "720p": 2, "1080p": 5}
    assert s.log_level == "INFO"
    assert (s.poll_interval, s.http_timeout, s.job_timeout, s.card_edit_interval) == (
        3.0,
        30.0,
        1800.0,
        5.0,
    )
    assert s.discord_api_base is None and s.discord_gateway_url is None
    assert s == Settings()


def test_empty_and_blank_values_mean_the_default():
    env = {name: "  " for name in _names_read()}
    assert Settings.from_env(env) == Settings()


def test_default_weights_cover_exactly_the_schema_resolutions():
    assert set(Settings().quota_resolution_weights) == set(MODEL.enum("resolution"))


def test_every_variable_is_parsed():
    s = Settings.from_env(
        {
            "DISCORD_TOKEN": f" {TOKEN} ",
            "RUNCOMFY_API_TOKEN": API_TOKEN,
            "RUNCOMFY_BASE_URL": "http://127.0.0.1:8188/",
            "RUNCOMFY_DOWNLOAD_HOSTS": " *.Files.Example , cdn.other.net., ,",
            "DATABASE_PATH": "/tmp/x/bot.db",
            "DISCORD_GUILD_IDS": " 123456789012345678, 42 ,,",
            "QUOTA_CREDITS_PER_DAY": "0",
            "QUOTA_MAX_ACTIVE_JOBS": "5",
            "QUOTA_RESOLUTION_WEIGHTS": " 1080p = 9 , 480p=1,720p=3 ",
            "LOG_LEVEL": "debug",
            "RUNCOMFY_POLL_INTERVAL": "0.25",
            "RUNCOMFY_HTTP_TIMEOUT": "12",
            "RUNCOMFY_END_BURST": "0",
            "JOB_TIMEOUT_SECONDS": "1e3",
            "CARD_EDIT_INTERVAL": "2.5",
            "DISCORD_API_BASE": "http://127.0.0.1:9000/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9000/gateway",
        }
    )
    assert s.discord_token == Secret(TOKEN)
    assert s.discord_token is not None and s.discord_token.reveal() == TOKEN
    assert s.runcomfy_api_token is not None and s.runcomfy_api_token.reveal() == API_TOKEN
    assert s.runcomfy_base_url == "http://127.0.0.1:8188"
    assert s.runcomfy_download_hosts == ("*.files.example", "cdn.other.net")
    assert s.database_path == Path("/tmp/x/bot.db")
    assert s.discord_guild_ids == (123456789012345678, 42)
    assert s.quota_credits_per_day == 0
    assert s.quota_max_active_jobs == 5
    assert dict(s.quota_resolution_weights) == {"480p": 1, "720p": 3, "1080p": 9}
    assert s.log_level == "DEBUG"
    assert s.poll_interval == 0.25
    assert s.http_timeout == 12.0
    assert s.end_burst == 0
    assert s.job_timeout == 1000.0
    assert s.card_edit_interval == 2.5
    assert s.discord_api_base == "http://127.0.0.1:9000/api/v10"
    assert s.discord_gateway_url == "ws://127.0.0.1:9000/gateway"


def test_settings_are_frozen():
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.quota_credits_per_day = 1  # type: ignore[misc]


def _names_read() -> set[str]:
    env = RecordingEnv({})
    Settings.from_env(env)
    return env.asked


def test_every_variable_read_is_documented_in_env_example():
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert _names_read() == documented


# --- malformed values ----------------------------------------------------------------------------

MALFORMED = [
    ("QUOTA_CREDITS_PER_DAY", "abc", "whole number"),
    ("QUOTA_CREDITS_PER_DAY", "-1", "whole number"),
    ("RUNCOMFY_END_BURST", "1.5", "whole number"),
    ("QUOTA_CREDITS_PER_DAY", "2.5", "whole number"),
    ("QUOTA_MAX_ACTIVE_JOBS", "0", "1 or more"),
    ("QUOTA_MAX_ACTIVE_JOBS", "many", "1 or more"),
    ("QUOTA_RESOLUTION_WEIGHTS", "480p=3,720p=4", "1080p"),  # a resolution missing
    ("QUOTA_RESOLUTION_WEIGHTS", "480p=1,720p=2,1080p=5,4k=9", "1080p"),  # an unknown one
    ("QUOTA_RESOLUTION_WEIGHTS", "480p=0,720p=2,1080p=5", "resolution=weight"),  # weight 0
    ("QUOTA_RESOLUTION_WEIGHTS", "480p:1", "resolution=weight"),
    ("QUOTA_RESOLUTION_WEIGHTS", "480p=one,720p=2,1080p=5", "resolution=weight"),
    ("DISCORD_GUILD_IDS", "abc", "numeric server IDs"),
    ("DISCORD_GUILD_IDS", "123,-4", "numeric server IDs"),
    ("RUNCOMFY_BASE_URL", "ftp://x", "http://"),
    ("RUNCOMFY_BASE_URL", "model-api.runcomfy.net", "http://"),
    ("DISCORD_API_BASE", "file:///etc", "http://"),
    ("RUNCOMFY_DOWNLOAD_HOSTS", ",", "host names"),
    ("RUNCOMFY_DOWNLOAD_HOSTS", "*", "host names"),
    ("RUNCOMFY_DOWNLOAD_HOSTS", "*.net", "host names"),  # a whole top-level domain
    ("RUNCOMFY_DOWNLOAD_HOSTS", "https://cdn.runcomfy.net", "host names"),
    ("RUNCOMFY_DOWNLOAD_HOSTS", "cdn.runcomfy.net:443", "host names"),
    ("RUNCOMFY_DOWNLOAD_HOSTS", "*.runcomfy.net,files here", "host names"),
    ("LOG_LEVEL", "loud", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("RUNCOMFY_POLL_INTERVAL", "-1", "greater than 0"),
    ("RUNCOMFY_POLL_INTERVAL", "0", "greater than 0"),
    ("RUNCOMFY_POLL_INTERVAL", "nan", "greater than 0"),
    ("RUNCOMFY_POLL_INTERVAL", "inf", "greater than 0"),
    ("RUNCOMFY_POLL_INTERVAL", "1e999", "greater than 0"),
    ("RUNCOMFY_POLL_INTERVAL", "soon", "greater than 0"),
    ("RUNCOMFY_HTTP_TIMEOUT", "-inf", "greater than 0"),
    ("JOB_TIMEOUT_SECONDS", "NaN", "greater than 0"),
    ("CARD_EDIT_INTERVAL", "-0.5", "greater than 0"),
]


@pytest.mark.parametrize(("name", "bad", "expected"), MALFORMED)
def test_malformed_value_names_the_variable_and_what_it_expects(name: str, bad: str, expected: str):
    error = config_error({name: bad})
    assert error.name == name
    message = str(error)
    assert message.startswith(f"{name}: ")
    assert "expected" in message and expected in message
    if len(bad) >= 3:  # shorter ones ("0", "-1") can be part of the explanation by chance
        assert bad not in message.split(": ", 1)[1]


@pytest.mark.parametrize(
    "name", ["RUNCOMFY_BASE_URL", "QUOTA_CREDITS_PER_DAY", "DISCORD_GUILD_IDS", "LOG_LEVEL"]
)
def test_a_token_pasted_into_the_wrong_variable_is_not_echoed(name: str):
    error = config_error({name: API_TOKEN, "DISCORD_TOKEN": TOKEN})
    assert error.name == name
    assert API_TOKEN not in str(error) and TOKEN not in str(error)
    assert API_TOKEN not in repr(error) and TOKEN not in repr(error)


def test_the_error_is_not_chained_to_the_parse_error():
    # A chained ValueError would print the raw value in a traceback.
    error = config_error({"RUNCOMFY_POLL_INTERVAL": "soon"})
    assert error.__cause__ is None and error.__suppress_context__


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("QUOTA_CREDITS_PER_DAY", "²"),
        ("QUOTA_MAX_ACTIVE_JOBS", "³"),
        ("QUOTA_RESOLUTION_WEIGHTS", "480p=1,720p=²,1080p=5"),
        ("DISCORD_GUILD_IDS", "12²"),
    ],
)
def test_digit_like_characters_get_the_same_clear_message(name: str, bad: str):
    message = str(config_error({name: bad}))
    assert "expected" in message
    assert bad not in message


# --- secrets -------------------------------------------------------------------------------------


def test_secret_hides_itself_everywhere():
    secret = Secret(TOKEN)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        "%s %r" % (secret, secret),  # noqa: UP031 - the old style is what logging uses
        "{}".format(secret),  # noqa: UP032
        repr([secret]),
        repr({"t": secret}),
    ]
    for text in shown:
        assert TOKEN not in text and "MTAx" not in text
        assert "*" in text
    assert secret.reveal() == TOKEN


def test_secret_compares_by_value():
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert len({Secret("a"), Secret("a")}) == 1


def test_settings_repr_hides_both_tokens():
    s = Settings.from_env({"DISCORD_TOKEN": TOKEN, "RUNCOMFY_API_TOKEN": API_TOKEN})
    for text in (repr(s), str(s), f"{s}"):
        assert TOKEN not in text and API_TOKEN not in text
        assert "discord_token=Secret(" in text


def test_require_discord_token_names_the_variable():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({}).require_discord_token()
    assert caught.value.name == "DISCORD_TOKEN"
    assert str(caught.value).startswith("DISCORD_TOKEN: ")


def test_require_discord_token_returns_the_secret():
    s = Settings.from_env({"DISCORD_TOKEN": TOKEN})
    assert s.require_discord_token().reveal() == TOKEN


def test_the_shutdown_grace_fits_inside_dockers_default_stop_timeout():
    # `docker stop` sends SIGKILL 10 s after SIGTERM: the grace must end well before that.
    assert Settings.from_env({}).shutdown_grace < 10


def test_model_weights_must_name_a_loaded_model(tmp_path: Path):
    from bot.services import load_catalog

    settings = Settings.from_env({"QUOTA_MODEL_WEIGHTS": "blackforestlabs-flux-3-text-to-video=3"})
    assert settings.quota_model_weights == {"blackforestlabs-flux-3-text-to-video": 3}
    assert "blackforestlabs-flux-3-text-to-video" in load_catalog(settings)
    with pytest.raises(ConfigError, match="QUOTA_MODEL_WEIGHTS: unknown model nope"):
        load_catalog(Settings.from_env({"QUOTA_MODEL_WEIGHTS": "nope=2"}))
    with pytest.raises(ConfigError, match="MODELS_DIR"):
        Settings.from_env({"MODELS_DIR": str(tmp_path / "missing")})


def test_database_url_selects_postgresql_and_stays_secret():
    url = "postgresql://bot:pg-password-do-not-print@db.internal:5432/seedance"
    s = Settings.from_env({"DATABASE_URL": url})
    assert s.database_url == Secret(url) and Settings.from_env({}).database_url is None
    assert "pg-password" not in repr(s)
    error = config_error({"DATABASE_URL": "mysql://bot:pg-password-do-not-print@h/db"})
    assert error.name == "DATABASE_URL" and "pg-password" not in str(error)
