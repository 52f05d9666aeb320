"""Importers: Claude Code history (transcripts) and telemetry (OTLP JSON) turned into spool events.

Both produce payloads shaped like Claude Code hook payloads, so ingest treats them like live
hook events, with ``source`` = ``transcript`` / ``otlp`` and deterministic event ids (re-import
is idempotent). Nothing here writes Parquet: ``hooklake ingest`` does.
"""
