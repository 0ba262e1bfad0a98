"""Keeping secrets out of the logs: one filter that redacts tokens from every record.

aiohttp's connection errors carry the full request URL, and an interaction's webhook URL carries
its token, which lets anyone post as the bot for 15 minutes; `log.exception` in the card
updater, delivery or the command error handler would write it out. The filter sits on the root
logger's handlers, where the records of every logger arrive, and redacts the message, the
exception text and the stack: webhook and interaction tokens in URLs, `Bot` and `Bearer`
authorization values, and the configured secrets themselves.

`JsonFormatter` (LOG_FORMAT=json) writes one JSON object a line for log collectors; it formats
what the filter left, so a JSON line is redacted like a text one. A record may carry structured
`fields` (`log.info(..., extra={"fields": {...}})`: a job's id, server, model, timings), which
the JSON line shows as keys of their own and the filter redacts too.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from bot.config import Secret

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Shorter "secrets" would blank out ordinary words all over the log; no real token is this short.
MIN_SECRET_LENGTH = 8
_PATTERNS = (
    # /webhooks/<id>/<token>, /interactions/<id>/<token>: the id helps debugging, the token
    # is the credential.
    (re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?#\s'\"<>]+"), rf"\g<1>{REDACTED}"),
    # An authorization value needs a token-like run, so "Bot restarted" stays as it is.
    (re.compile(r"\b((?i:bot|bearer)\s+)[A-Za-z0-9._\-]{20,}"), rf"\g<1>{REDACTED}"),
)


class RedactingFilter(logging.Filter):
    """Rewrites a record so no handler after it can show a secret; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        known = {*self.secrets, *(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)}
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        # Freeze the message: the args themselves (an exception, a URL) may hold the token.
        record.msg, record.args = self.redact(_message(record)), None
        if record.exc_info and not record.exc_text:
            # The Formatter reuses exc_text instead of formatting exc_info again.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {
                k: self.redact(v) if isinstance(v, str) else v for k, v in fields.items()
            }
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time, level, logger, message, the record's
    `fields`, and the exception or stack when there is one."""

    BASE = ("time", "level", "logger", "message")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({k: v for k, v in fields.items() if k not in self.BASE})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)


def use_format(log_format: str) -> None:
    """Set the root handlers' format: "json" for collectors, else the readable text line."""
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in logging.root.handlers:
        handler.setFormatter(formatter)


def install_redaction(*secrets: Secret | str | None) -> RedactingFilter:
    """Put one RedactingFilter on every handler of the root logger; calling again adds secrets."""
    values = [s.reveal() if isinstance(s, Secret) else s for s in secrets if s is not None]
    found = [f for h in logging.root.handlers for f in h.filters if isinstance(f, RedactingFilter)]
    redactor = found[0] if found else RedactingFilter()
    redactor.add_secrets(values)
    for handler in logging.root.handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)
    return redactor


_FORMATTER = logging.Formatter()


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        # Bad %-args: logging would print msg and args raw to stderr; keep them, redacted.
        return f"{record.msg!s} {record.args!r}"
