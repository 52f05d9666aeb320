"""Small builders for learning tests: traces as learning reads them, without a lake."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import polars as pl

from learning import synth
from learning.source import LakeData

T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)


def kind(name: str) -> dict:
    return synth.load_eval_set()["kind_by_name"][name]


def traces(specs: list[tuple[str, str, bool]], start: datetime = T0, seed: int = 0) -> list[synth.SynthTrace]:
    """specs: (kind name, prompt, success) in time order, one hour apart."""
    rng = random.Random(seed)
    out = []
    for i, (k, prompt, ok) in enumerate(specs):
        out.append(synth.make_trace(kind(k), prompt, start + timedelta(hours=i), ok, rng, str(uuid.UUID(int=rng.getrandbits(128))),
                                    "/home/dev/shop"))
    return out


def lake_data(ts: list[synth.SynthTrace], decisions: list[dict] | None = None) -> LakeData:
    return LakeData(synth.trace_frame(ts), pl.DataFrame(), pl.DataFrame(), pl.DataFrame(),
                    pl.DataFrame(decisions) if decisions else pl.DataFrame())


UNIT_TESTS = [
    "Write unit tests for parse_invoice in src/billing/invoice.py, cover the edge cases",
    "Write unit tests for calculate_tax in src/billing/invoice.py, cover the edge cases",
    "Write unit tests for apply_discount in services/payments.py, cover the edge cases",
    "Write unit tests for refresh_token in api/handlers.py, cover the edge cases",
    "Write unit tests for sync_inventory in worker/tasks.py, cover the edge cases",
    "Write unit tests for send_receipt in utils/dates.py, cover the edge cases",
]
REGEX = ["Write a regex that matches ISO 8601 dates like 2024-03-01T10:00:00Z",
         "What regular expression would validate UK postcodes?"]
