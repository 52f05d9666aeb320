"""The correlation context: which trace, which root, which parent span, which step.

A context travels three ways: in a ``contextvars`` variable inside one process (so async tasks
and threads started with ``contextvars.copy_context`` see their caller's trace), in HTTP headers
between services (:mod:`hooks.sdk.headers`), and in ``HOOKLAKE_*`` environment variables from
``hooklake run`` to a user's hook script (:func:`from_env`).

Ids: ``correlation_id`` is the trace (Claude Code's ``prompt_id`` when known, a UUID otherwise);
``execution_id`` is a 16-hex span id, so it doubles as the W3C ``traceparent`` parent-id.
Standard library only.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

ENV_CORRELATION_ID = "HOOKLAKE_CORRELATION_ID"
ENV_ROOT_ID = "HOOKLAKE_ROOT_ID"
ENV_PARENT_ID = "HOOKLAKE_PARENT_ID"
ENV_EXECUTION_ID = "HOOKLAKE_EXECUTION_ID"
ENV_SESSION_ID = "HOOKLAKE_SESSION_ID"


def new_span_id() -> str:
    """A 16-hex-digit span id (W3C ``parent-id`` compatible, never all zeros)."""
    value = os.urandom(8).hex()
    return value if value != "0" * 16 else "0" * 15 + "1"


def new_trace_id() -> str:
    """A fresh correlation id (UUID text, the same shape as Claude Code's ``prompt_id``)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class CorrelationContext:
    """Where an event sits in a trace."""

    correlation_id: str
    """The trace: Claude Code's prompt_id, or an id minted by the first instrumented hop."""
    root_id: str | None = None
    """The root trace when this trace is a child (a subagent run, a nested call); else the trace itself."""
    parent_id: str | None = None
    """The span that caused this step (the caller's execution_id), when known."""
    execution_id: str | None = None
    """This step's own span id."""
    session_id: str | None = None
    """Claude Code session id when known."""

    def child(self) -> "CorrelationContext":
        """A new step caused by this one: same trace, parent = this step, fresh execution id."""
        return replace(self, parent_id=self.execution_id, execution_id=new_span_id())

    def as_fields(self) -> dict[str, str]:
        """The correlation fields of an event payload (absent ids are left out)."""
        fields = {
            "correlation_id": self.correlation_id,
            "root_id": self.root_id if self.root_id is not None else self.correlation_id,
            "parent_id": self.parent_id,
            "execution_id": self.execution_id,
            "session_id": self.session_id,
        }
        return {key: value for key, value in fields.items() if value is not None}

    def as_env(self) -> dict[str, str]:
        """The ``HOOKLAKE_*`` variables ``hooklake run`` exports to a wrapped hook."""
        env = {
            ENV_CORRELATION_ID: self.correlation_id,
            ENV_ROOT_ID: self.root_id if self.root_id is not None else self.correlation_id,
            ENV_PARENT_ID: self.parent_id,
            ENV_EXECUTION_ID: self.execution_id,
            ENV_SESSION_ID: self.session_id,
        }
        return {key: value for key, value in env.items() if value is not None}


def new_context(
    correlation_id: str | None = None,
    *,
    session_id: str | None = None,
    root_id: str | None = None,
    parent_id: str | None = None,
) -> CorrelationContext:
    """Start a step; a missing correlation id starts a new trace."""
    cid = correlation_id if correlation_id is not None and correlation_id != "" else new_trace_id()
    return CorrelationContext(
        correlation_id=cid,
        root_id=root_id,
        parent_id=parent_id,
        execution_id=new_span_id(),
        session_id=session_id,
    )


def from_env(environ: Mapping[str, str] | None = None) -> CorrelationContext | None:
    """The context ``hooklake run`` exported, or None outside a wrapped hook."""
    env = os.environ if environ is None else environ
    cid = env.get(ENV_CORRELATION_ID)
    if cid is None or cid == "":
        return None

    def get(name: str) -> str | None:
        value = env.get(name)
        return value if value else None

    return CorrelationContext(
        correlation_id=cid,
        root_id=get(ENV_ROOT_ID),
        parent_id=get(ENV_PARENT_ID),
        execution_id=get(ENV_EXECUTION_ID),
        session_id=get(ENV_SESSION_ID),
    )


_current: contextvars.ContextVar[CorrelationContext | None] = contextvars.ContextVar(
    "hooklake_correlation", default=None
)


def current() -> CorrelationContext | None:
    """The context of the running request/task: the contextvar, else the wrapper's environment."""
    ctx = _current.get()
    if ctx is not None:
        return ctx
    return from_env()


def set_current(ctx: CorrelationContext | None) -> contextvars.Token:
    return _current.set(ctx)


def reset_current(token: contextvars.Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def use_context(ctx: CorrelationContext | None = None, **ids: str | None) -> Iterator[CorrelationContext]:
    """Run a block inside a context: ``ctx``, or a new one built from ``ids`` (see :func:`new_context`).

    With neither, the block becomes a child step of the current context (or starts a new trace).
    """
    if ctx is None:
        if ids:
            ctx = new_context(**ids)  # type: ignore[arg-type]
        else:
            parent = current()
            ctx = parent.child() if parent is not None else new_context()
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
