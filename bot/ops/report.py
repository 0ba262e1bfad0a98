"""What the operator commands print: findings on stdout, one line per problem on stderr.

Every line passes through the log redactor first, with the configured tokens, so no message
(an exception's text, a URL) can print a token even by accident.
"""

from __future__ import annotations

import sys

from bot.config import Secret
from bot.logs import RedactingFilter


class Report:
    def __init__(self, *secrets: Secret | None) -> None:
        self.problems: list[str] = []
        self._redactor = RedactingFilter(s.reveal() for s in secrets if s is not None)

    def add_secrets(self, *secrets: Secret | None) -> None:
        self._redactor.add_secrets(s.reveal() for s in secrets if s is not None)

    def line(self, text: str) -> None:
        print(self._redactor.redact(text), flush=True)

    def problem(self, text: str) -> None:
        text = self._redactor.redact(text)
        self.problems.append(text)
        print(f"problem: {text}", file=sys.stderr, flush=True)

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0
