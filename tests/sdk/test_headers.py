"""Correlation headers: hooklake's X-* headers and W3C traceparent, both directions."""

from __future__ import annotations

import re

from hooks.sdk import context, headers


def test_inject_extract_round_trip():
    ctx = context.new_context("ce1b2eb9-8e2c-49cd-986f-9b38cb0b1322", session_id="sess-1", root_id="root-9",
                              parent_id="00f067aa0ba902b7")
    sent = headers.inject(ctx, {})
    assert sent["X-Correlation-ID"] == ctx.correlation_id and sent["X-Root-ID"] == "root-9"
    assert sent["X-Parent-ID"] == "00f067aa0ba902b7" and sent["X-Execution-ID"] == ctx.execution_id
    assert re.fullmatch(r"00-ce1b2eb98e2c49cd986f9b38cb0b1322-[0-9a-f]{16}-01", sent["traceparent"])
    assert sent["traceparent"].split("-")[2] == ctx.execution_id
    got = headers.extract({k.lower(): v for k, v in sent.items()})  # header names are case-insensitive
    assert got == ctx
    child = got.child()
    assert child.correlation_id == ctx.correlation_id and child.parent_id == ctx.execution_id
    assert child.execution_id != ctx.execution_id and re.fullmatch(r"[0-9a-f]{16}", child.execution_id)


def test_traceparent_alone_recovers_a_uuid_correlation_id():
    incoming = [(b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    ctx = headers.extract(incoming)
    assert ctx.correlation_id == "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"
    assert ctx.execution_id == "00f067aa0ba902b7"
    assert headers.trace_id_for(ctx.correlation_id) == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_non_uuid_correlation_id_maps_to_a_stable_trace_id():
    a = headers.trace_id_for("session-42:3")
    assert a == headers.trace_id_for("session-42:3") and re.fullmatch(r"[0-9a-f]{32}", a)
    ctx = context.new_context("session-42:3")
    sent = headers.inject(ctx)
    assert headers.extract(sent).correlation_id == "session-42:3"  # the X- header wins over traceparent


def test_invalid_traceparent_is_ignored():
    for bad in ("", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "ff-" + "a" * 32 + "-" + "b" * 16 + "-01",
                "00-" + "a" * 32 + "-" + "0" * 16 + "-01"):
        assert headers.parse_traceparent(bad) is None
        assert headers.extract({"traceparent": bad}) is None


def test_context_from_wrapper_environment(monkeypatch):
    env = {"HOOKLAKE_CORRELATION_ID": "p-1", "HOOKLAKE_ROOT_ID": "r-1", "HOOKLAKE_EXECUTION_ID": "1234567890abcdef",
           "HOOKLAKE_SESSION_ID": "s-1"}
    ctx = context.from_env(env)
    assert ctx.as_env() == env
    assert context.from_env({}) is None
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert context.current() == ctx  # outside any request the wrapper's ids are the context
    with context.use_context() as step:
        assert step.parent_id == "1234567890abcdef" and context.current() is step
    assert context.current() == ctx


def test_sdk_kinds_are_the_schema_kinds():
    from hooks.sdk import events as emit
    from ingest import schema

    assert emit.KINDS <= schema.SDK_KINDS
