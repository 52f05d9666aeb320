"""Secret redaction: every pattern positively and with near misses, keys at any depth, and the
guarantee that the vectorised prefilter never lets a secret through to Parquet."""

from __future__ import annotations

import json

import pytest

from hooklake.errors import HooklakeError
from hooklake.settings import RedactionSettings
from ingest.compactor import run_ingest
from ingest.redact import REDACTED, Redactor

from ingest_testkit import append, cc, envelope_line, read_lake, spool_path

GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1\nabc==\n-----END RSA PRIVATE KEY-----"

# (text containing a secret, the secret itself)
POSITIVES = [
    ("key sk-ant-api03-" + "x" * 40 + " end", "sk-ant-api03-" + "x" * 40),
    ("OPENAI_KEY is sk-proj-" + "A1b2" * 8, "sk-proj-" + "A1b2" * 8),
    ("sk-" + "Z9y8" * 12, "sk-" + "Z9y8" * 12),
    ("token " + GH, GH),
    ("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_11ABCDEFG0123456789"),
    ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
    ("google AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
    ("stripe sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("aws AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
    ("aws ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("curl -H 'Authorization: Bearer abcdefghijklmnop.qrstuv'", "abcdefghijklmnop.qrstuv"),
    ("jwt " + JWT, JWT),
    ("key:\n" + PEM + "\nafter", "MIIEowIBAAKCAQEAx1"),
    ("git clone https://bob:s3cr3tpass@github.com/x/y", "s3cr3tpass"),
    ("export DB_PASSWORD=hunter2hunter2 && run", "hunter2hunter2"),
]

NEAR_MISSES = [
    "sk-short is not a key",
    "task-abcdefghijklmnopqrstuvwxyz0123 is a task id",
    "ghp_short",
    "xoxb-12",
    "AIzaShort",
    "sk_live_short",
    "AKIAIOSFODNN7EXAMPL lowercase akiaiosfodnn7example",
    "the word bearer alone",
    "eyJhbGciOiJIUzI1NiJ9 alone",
    "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "https://user@github.com/x and http://localhost:8080/path",
    "max_tokens=4096 input_tokens=12",
    "the aws_secret_access_key setting is documented",
]


@pytest.mark.parametrize(("text", "secret"), POSITIVES)
def test_value_patterns_redact(text: str, secret: str) -> None:
    out, count = Redactor().redact_text(text)
    assert secret not in out and REDACTED in out and count >= 1


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_kept(text: str) -> None:
    assert Redactor().redact_text(text) == (text, 0)


def test_prefilter_sees_every_positive_inside_json() -> None:
    """The vectorised scan runs over JSON text: escaping must not hide a secret from it."""
    redactor = Redactor()
    for text, _secret in POSITIVES:
        line = json.dumps({"payload": {"tool_input": {"command": "\n" + text + "\t"}}})
        assert redactor.prefilter_matches(line), text


@pytest.mark.parametrize(
    "key",
    ["password", "PASSWORD", "pAsSwOrD", "db_password", "passwd", "token", "accessToken", "GITHUB_TOKEN", "api_key", "apiKey",
     "x-api-key", "X-Api-Key", "secret", "client_secret", "Authorization", "credentials", "private_key",
     "Cookie", "set-cookie", "session_token", "access_key", "aws_secret_access_key", "password_hash"],
)
def test_secret_key_names_at_any_depth(key: str) -> None:
    payload = {"tool_input": {"env": [{key: "value-1"}], "nested": {"deeper": {key: {"any": "object"}}}}}
    out, count = Redactor().redact_value(payload)
    assert out["tool_input"]["env"][0][key] == REDACTED
    assert out["tool_input"]["nested"]["deeper"][key] == REDACTED
    assert count == 2
    for separators in ((",", ":"), (", ", ": ")):
        line = json.dumps({"payload": payload}, separators=separators)
        assert Redactor().prefilter_matches(line)


@pytest.mark.parametrize("key", ["input_tokens", "max_tokens", "tokens", "token_count", "session_id", "keyboard",
                                 "author", "cookbook", "passage"])
def test_ordinary_key_names_are_kept(key: str) -> None:
    payload = {key: "value", "n": {key: 5}}
    assert Redactor().redact_value(payload) == (payload, 0)


def test_booleans_and_nulls_under_secret_keys_are_kept() -> None:
    payload = {"has_password": True, "token": None}
    assert Redactor().redact_value(payload) == (payload, 0)


def test_extra_key_names_and_patterns() -> None:
    redactor = Redactor(extra_key_names=["ssn"], extra_patterns=[r"ACME-[0-9]{6}"])
    out, count = redactor.redact_value({"customer_SSN": "123-45-6789", "note": "ticket ACME-123456 open"})
    assert out == {"customer_SSN": REDACTED, "note": f"ticket {REDACTED} open"} and count == 2
    assert redactor.prefilter_matches('{"customer_SSN":"1"}') and redactor.prefilter_matches("x ACME-123456")
    assert not redactor.prefilter_matches('{"customer":"1"}')


def test_disabled_redaction_changes_nothing() -> None:
    redactor = Redactor(enabled=False)
    assert redactor.redact_text("sk-ant-" + "x" * 30) == ("sk-ant-" + "x" * 30, 0)
    assert redactor.prefilter_regex() is None and redactor.prefilter_literals() is None


def test_bad_extra_pattern_is_a_clear_error() -> None:
    with pytest.raises(HooklakeError, match=r"extra_patterns.*\(unterminated"):
        Redactor.from_settings(RedactionSettings(extra_patterns=("(unterminated",)))


def test_secrets_never_reach_parquet_and_are_counted(paths) -> None:
    payloads = [
        cc("UserPromptSubmit", prompt_id="p1", prompt=f"use {GH} please"),
        cc("PreToolUse", prompt_id="p1", tool_name="Bash",
           tool_input={"command": "curl https://bob:s3cr3tpass@h/x", "env": {"API_KEY": "abc123"}}),
        cc("PostToolUseFailure", prompt_id="p1", tool_name="Bash", error=f"auth failed for {JWT}"),
        cc("PostToolUse", prompt_id="p1", tool_name="Bash", tool_response={"stdout": "fine"}),
    ]
    append(spool_path(paths), *[envelope_line(p) for p in payloads])
    report = run_ingest(paths)
    assert report.redacted == 4 and report.redacted_events == 3
    rows = read_lake(paths)
    blob = json.dumps([{k: str(v) for k, v in r.items()} for r in rows])
    for secret in (GH, "s3cr3tpass", "abc123", JWT):
        assert secret not in blob
    by_name = {r["event_name"]: r for r in rows}
    assert by_name["UserPromptSubmit"]["prompt_text"] == f"use {REDACTED} please"
    assert by_name["PostToolUseFailure"]["error_message"] == f"auth failed for {REDACTED}"
    assert [by_name[n]["redactions"] for n in ("UserPromptSubmit", "PreToolUse", "PostToolUse")] == [1, 2, 0]
    assert json.loads(by_name["PreToolUse"]["payload"])["tool_input"]["env"]["API_KEY"] == REDACTED


def test_redaction_can_be_turned_off(paths) -> None:
    paths.config.write_text("[redaction]\nenabled = false\n")
    append(spool_path(paths), envelope_line(cc("UserPromptSubmit", prompt=f"use {GH}")))
    report = run_ingest(paths)
    assert report.redacted == 0
    assert read_lake(paths)[0]["prompt_text"] == f"use {GH}"


def _redact_without_gate(redactor: Redactor, text: str) -> tuple[str, int]:
    """The value rules applied pattern by pattern, without the shared needle pre-check."""
    import re

    from ingest.redact import VALUE_PATTERNS, _replace_secret

    count = 0
    lowered = text.lower()
    for vp in VALUE_PATTERNS:
        if not any(n in lowered for n in vp.needles) or (vp.requires and vp.requires not in lowered):
            continue
        text, n = vp.regex.subn(_replace_secret, text)
        count += n
    for pattern in redactor.extra_patterns:
        text, n = re.subn(pattern, REDACTED, text)
        count += n
    return text, count


@pytest.mark.parametrize("extra", [(), (r"internal-[0-9]{4}",)])
def test_needle_precheck_changes_no_result(extra: tuple[str, ...]) -> None:
    redactor = Redactor(extra_patterns=extra)
    texts = [t for t, _ in POSITIVES] + [
        "", "plain words only", "see internal-1234 here", "TOKEN = abcdefgh", "Bearer abcdefghijkl",
        "postgres://u:pw@h/db", "eyJ only", "AKIAIOSFODNN7EXAMPLE", "x" * 5000 + " sk-ant-" + "y" * 30,
    ]
    for text in texts:
        assert redactor.redact_text(text) == _redact_without_gate(redactor, text), text
