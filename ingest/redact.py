"""Secret redaction: every secret becomes ``[REDACTED]`` before anything reaches Parquet.

Two rules, both case-insensitive:

* **By key name, at any depth.** A JSON key whose normalised form (lower case, only letters
  and digits) *ends* with one of :data:`SUFFIX_KEY_NAMES` (``db_password``, ``accessToken``,
  ``x-api-key``, ``Authorization``) or *starts* with one of :data:`PREFIX_KEY_NAMES`
  (``password_hash``, ``secret_key``, ``cookies``) has its value replaced, whatever the value
  is (string, number, object, list). Booleans and nulls are kept: they hold no secret and
  ``"has_password": true`` stays useful. ``input_tokens`` / ``max_tokens`` are *not* secret
  (they end in ``tokens``, not ``token``). ``RedactionSettings.extra_key_names`` add names
  matched as substrings of the normalised key.
* **By value pattern, in free text** (:data:`VALUE_PATTERNS`): provider API keys, bearer
  tokens, JWTs, private-key blocks, passwords in URLs, AWS keys, ``NAME_TOKEN=value``
  assignments in shell text, plus ``RedactionSettings.extra_patterns``.

The ingest bulk path cannot afford to parse every payload in Python, so it first runs a
vectorised prefilter over the raw JSON text of each spool line and sends only the lines that may
hold a secret through the exact rules here: an ASCII-case-insensitive search for the key names
as they appear in JSON text (:meth:`Redactor.prefilter_literals`: ``password":``, ``"api_key``,
with ``_``, ``-``, ``.``, space or nothing between words) and one regular expression for the
value shapes (:meth:`Redactor.prefilter_regex`). Known gaps of the prefilter (the exact rules
would catch them, but the line never reaches them unless something else on it looks secret): a
key that *starts* with a secret name after punctuation (``_password_hash``) and a key written
with a space before its colon (``"password" :``); no JSON writer in use produces either.
Value patterns are matched on decoded strings by the exact path; the prefilter looks for their
fixed parts, which survive JSON escaping (the only characters JSON escapes are quotes,
backslashes and control characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REDACTED = "[REDACTED]"

#: Key names (normalised: lower case, letters and digits only) whose values are secret when
#: the key ends with them.
SUFFIX_KEY_NAMES: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "authorization",
    "credentials",
    "credential",
    "privatekey",
    "cookie",
    "accesskey",
    "secretkey",
)

#: Key names whose values are secret when the key starts with them (``password_hash``).
PREFIX_KEY_NAMES: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "credential",
    "privatekey",
    "cookie",
    "accesskey",
)

# Word spellings of the key names, used to build the prefilter (``api_key`` -> api, key).
_KEY_WORDS: dict[str, tuple[str, ...]] = {
    "password": ("password",),
    "passwd": ("passwd",),
    "passphrase": ("passphrase",),
    "token": ("token",),
    "secret": ("secret",),
    "apikey": ("api", "key"),
    "authorization": ("authorization",),
    "credentials": ("credentials",),
    "credential": ("credential",),
    "privatekey": ("private", "key"),
    "cookie": ("cookie",),
    "accesskey": ("access", "key"),
    "secretkey": ("secret", "key"),
}


@dataclass(frozen=True)
class ValuePattern:
    """One secret shape in free text.

    ``regex`` is matched on decoded text; the ``secret`` group (or the whole match) is
    replaced. ``prefilter`` is a cheaper expression that matches wherever ``regex`` could,
    also inside the JSON-escaped line text.
    """

    name: str
    regex: re.Pattern[str]
    prefilter: str
    needles: tuple[str, ...]
    """Lower-case substrings one of which every match contains: a cheap test before the regex."""
    requires: str = ""
    """A lower-case substring every match also contains."""


def _vp(name: str, needles: tuple[str, ...], regex: str, prefilter: str, flags: int = 0,
        requires: str = "") -> ValuePattern:
    return ValuePattern(name, re.compile(regex, flags), prefilter, needles, requires)


VALUE_PATTERNS: tuple[ValuePattern, ...] = (
    _vp("private_key_block", ("-----begin",),
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|.*\Z)",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY", re.DOTALL),
    _vp("anthropic", ("sk-ant-",), r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}", r"sk-ant-"),
    _vp("openai", ("sk-",), r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", r"sk-[A-Za-z0-9_-]{20}"),
    _vp("github", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
        r"gh[pousr]_[A-Za-z0-9]{30}|github_pat_"),
    _vp("slack", ("xox",), r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}", r"xox[abposr]-"),
    _vp("google_api_key", ("aiza",), r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}", r"AIza"),
    _vp("stripe", ("_live_", "_test_"), r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}", r"[sr]k_(?:live|test)_"),
    _vp("aws_access_key_id", ("akia", "asia"), r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])", r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    _vp("aws_secret_access_key", ("aws_secret_access_key",),
        r"(?i)aws_secret_access_key[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        r"aws_secret_access_key|AWS_SECRET_ACCESS_KEY"),
    _vp("bearer", ("bearer",), r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)", r"bearer|Bearer|BEARER"),
    _vp("jwt", ("eyj",), r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", r"eyJ"),
    _vp("url_password", ("://",),
        r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s/:@\"'<>]+:(?P<secret>[^\s/@\"'<>]+)@",
        r"://[^/\s:@\"]+:[^/\s@\"]+@"),
    _vp("env_assignment", ("password", "passwd", "secret", "token", "api_key", "apikey", "access_key"),
        r"(?i)\b[A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY)\s*=\s*[\"']?"
        r"(?P<secret>(?!\[REDACTED\])[^\s\"'&;|]{4,})",
        r"(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY|password|passwd|secret|token|api_key|apikey"
        r"|access_key|Password|Secret|Token)\s*=", requires="="),
)


_ANY_NEEDLE = re.compile("|".join(re.escape(needle) for vp in VALUE_PATTERNS for needle in vp.needles))
"""Matches wherever at least one value pattern's needle occurs (in lower-cased text)."""


def normalise_key(key: str) -> str:
    """``X-Api-Key`` -> ``xapikey``: the form the key-name rules compare."""
    return "".join(ch for ch in key.lower() if ch.isalnum())


def _spellings(words: tuple[str, ...]) -> set[str]:
    """Lower-case spellings of a (multi-)word key name: joined or with ``_ - . space`` between."""
    return {sep.join(words) for sep in ("", "_", "-", " ", ".")}


class Redactor:
    """Applies the rules; one instance per ingest run (patterns compiled once)."""

    def __init__(
        self,
        enabled: bool = True,
        extra_key_names: Iterable[str] = (),
        extra_patterns: Iterable[str] = (),
    ) -> None:
        self.enabled = enabled
        self.extra_key_names = tuple(n for n in (normalise_key(k) for k in extra_key_names) if n)
        self._raw_extra_key_names = tuple(extra_key_names)
        self.extra_patterns: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in extra_patterns)
        self._raw_extra_patterns = tuple(extra_patterns)
        self._key_cache: dict[str, bool] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> "Redactor":
        """Build from ``RedactionSettings``; a bad extra pattern is an error naming it."""
        from hooklake.errors import HooklakeError

        for pattern in settings.extra_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise HooklakeError(
                    f"config.toml [redaction] extra_patterns: {pattern!r} is not a valid regular expression ({exc})"
                ) from exc
        return cls(settings.enabled, settings.extra_key_names, settings.extra_patterns)

    # ------------------------------------------------------------------ exact rules

    def is_secret_key(self, key: str) -> bool:
        hit = self._key_cache.get(key)
        if hit is None:
            norm = normalise_key(key)
            hit = bool(norm) and (
                norm.endswith(SUFFIX_KEY_NAMES)
                or norm.startswith(PREFIX_KEY_NAMES)
                or any(name in norm for name in self.extra_key_names)
            )
            if len(self._key_cache) < 10_000:
                self._key_cache[key] = hit
        return hit

    def redact_text(self, text: str) -> tuple[str, int]:
        """Replace every value-pattern match in ``text``; returns (text, replacements)."""
        if not self.enabled or not text:
            return text, 0
        count = 0
        lowered = text.lower()
        # One scan for every pattern's needles first: most strings hold none, and then no
        # pattern can match (each match contains one of its needles).
        if _ANY_NEEDLE.search(lowered) is None:
            for pattern in self.extra_patterns:
                text, n = pattern.subn(REDACTED, text)
                count += n
            return text, count
        for vp in VALUE_PATTERNS:
            if not any(needle in lowered for needle in vp.needles) or (vp.requires and vp.requires not in lowered):
                continue
            text, n = vp.regex.subn(_replace_secret, text)
            count += n
        for pattern in self.extra_patterns:
            text, n = pattern.subn(REDACTED, text)
            count += n
        return text, count

    def redact_value(self, value: Any) -> tuple[Any, int]:
        """Redact a decoded JSON value at any depth; returns (new value, replacements)."""
        if not self.enabled:
            return value, 0
        return self._walk(value)

    def _walk(self, value: Any) -> tuple[Any, int]:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            total = 0
            out: dict[str, Any] = {}
            for key, item in value.items():
                if self.is_secret_key(key) and item is not None and not isinstance(item, bool) and item != REDACTED:
                    out[key] = REDACTED
                    total += 1
                else:
                    out[key], n = self._walk(item)
                    total += n
            return out, total
        if isinstance(value, list):
            total = 0
            items = []
            for item in value:
                new, n = self._walk(item)
                items.append(new)
                total += n
            return items, total
        return value, 0

    # ------------------------------------------------------------------ vectorised prefilter

    def prefilter_literals(self) -> list[str] | None:
        """Lower-case literals, to be searched ASCII-case-insensitively, that every line with a
        secret *key* contains (``password":``, ``"api_key``, ...); ``None`` when redaction is off."""
        if not self.enabled:
            return None
        literals: set[str] = set()
        for name in SUFFIX_KEY_NAMES:
            literals |= {f'{spelling}":' for spelling in _spellings(_KEY_WORDS[name])}
        for name in PREFIX_KEY_NAMES:
            literals |= {f'"{spelling}' for spelling in _spellings(_KEY_WORDS[name])}
        literals |= {raw.lower() for raw in self._raw_extra_key_names if raw}
        literals |= set(self.extra_key_names)
        return sorted(literals)

    def prefilter_regex(self) -> str | None:
        """A regular expression (Rust ``regex`` / RE2 syntax) matching every line that may hold a
        secret *value*; ``None`` when redaction is off."""
        if not self.enabled:
            return None
        parts = [vp.prefilter for vp in VALUE_PATTERNS]
        parts.extend(f"(?:{p})" for p in self._raw_extra_patterns)
        return "|".join(parts)

    def prefilter_matches(self, line: str) -> bool:
        """The vectorised prefilter for one line (what ingest computes for a whole batch at once)."""
        if not self.enabled:
            return False
        lowered = line.lower()
        return any(lit in lowered for lit in self.prefilter_literals() or ()) or bool(
            re.search(self.prefilter_regex() or "(?!)", line)
        )


def _replace_secret(match: re.Match[str]) -> str:
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        start, end = match.span("secret")
        whole_start = match.start()
        text = match.group(0)
        return text[: start - whole_start] + REDACTED + text[end - whole_start :]
    return REDACTED
