"""Which hosts the client may download files from: the SSRF guard's patterns and matching.

A result's video URL comes from RunComfy's answer; fetching whatever it names would let a bad or
spoofed answer point the bot at an internal address. Like RunComfy's own CLI, only named hosts
are fetched. A pattern is a host name (`cdn.example.com`, matched exactly) or `*.example.com`
(example.com itself and every subdomain). Hosts compare case-insensitively, ports are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from yarl import URL

DOWNLOAD_SCHEMES = frozenset({"http", "https"})
# Letters, digits, `-` and `_` in dot-separated labels; IPv4 literals fit too.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
PATTERN_RULE = "host names or *.domain patterns, like *.runcomfy.net,*.runcomfy.com"


def parse_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """Normalized patterns (lower case, no trailing dot, blanks skipped); ValueError if malformed.

    The message never repeats the input: a token pasted into the wrong variable stays hidden.
    """
    if isinstance(patterns, str):  # one string would be read as a pattern per character
        raise TypeError("give the patterns as a list or tuple of strings")
    return tuple(_pattern(p) for p in patterns if p.strip())


def _pattern(raw: str) -> str:
    pattern = raw.strip().lower().rstrip(".")
    domain = pattern.removeprefix("*.")
    # A wildcard over a bare top-level name (`*.com`, `*`) would allow nearly everything.
    if not _NAME.fullmatch(domain) or (domain != pattern and "." not in domain):
        raise ValueError(f"expected comma-separated {PATTERN_RULE}")
    return pattern


def url_host(url: URL) -> str:
    """The host to compare: IDNA-encoded, lower case, without port or trailing dot."""
    return (url.raw_host or "").lower().rstrip(".")


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Whether `host` (as `url_host` gives it) matches one of the normalized patterns."""
    if not host:
        return False
    for pattern in patterns:
        if pattern.startswith("*."):
            domain = pattern[2:]
            if host == domain or host.endswith("." + domain):
                return True
        elif host == pattern:
            return True
    return False


def shown_host(url: URL) -> str:
    """The host and any explicit port, for logs: never the path or query (signed links)."""
    port = url.explicit_port
    return url_host(url) + (f":{port}" if port is not None else "")
