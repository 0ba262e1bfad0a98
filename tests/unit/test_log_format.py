"""LOG_FORMAT=json: one JSON object per record and line, the record's fields as keys, and the
redaction filter applied to everything the line shows (message, fields, exception)."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator

import pytest

from bot.config import Secret
from bot.logs import REDACTED, JsonFormatter, RedactingFilter

BOT_TOKEN = "MTExMjIyMzMzNDQ0NTU1NjY2.GhIjKl." + secrets.token_urlsafe(27)
WEBHOOK_TOKEN = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)


@pytest.fixture
def out() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter([Secret(BOT_TOKEN).reveal()]))
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_one_object_per_line_with_the_fields(out: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = out
    fields = {"job_id": 7, "guild_id": 11, "model": "m/x", "total_s": 1.5}
    log.info("job %d queued -> running", 7, extra={"fields": fields})
    log.warning("a second\nline in one record")
    first, second = lines(stream)
    assert first["message"] == "job 7 queued -> running"
    assert first["level"] == "INFO" and first["logger"] == "test.json"
    assert {k: first[k] for k in fields} == fields
    assert str(first["time"]).endswith("+00:00")
    assert second["message"] == "a second\nline in one record"  # escaped: still one line


def test_fields_cannot_replace_the_base_keys(out: tuple[logging.Logger, io.StringIO]) -> None:
    log, stream = out
    log.info("the real message", extra={"fields": {"message": "forged", "level": "CRITICAL"}})
    (line,) = lines(stream)
    assert line["message"] == "the real message" and line["level"] == "INFO"


def test_tokens_are_redacted_in_message_fields_and_exception(
    out: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = out
    url = f"https://discord.com/api/v10/webhooks/123/{WEBHOOK_TOKEN}/messages/@original"
    log.info("edit failed: %s", url, extra={"fields": {"auth": f"Bot {BOT_TOKEN}", "n": 3}})
    try:
        raise RuntimeError(f"connect failed for {url} with {BOT_TOKEN}")
    except RuntimeError:
        log.exception("card update failed")
    text = stream.getvalue()
    assert WEBHOOK_TOKEN not in text and BOT_TOKEN not in text
    first, second = lines(stream)
    assert "/webhooks/123/" + REDACTED in str(first["message"])
    assert first["auth"] == "Bot " + REDACTED and first["n"] == 3
    assert "RuntimeError" in str(second["exc"]) and REDACTED in str(second["exc"])
