"""The learned tables: what ``hooklake learn`` writes under ``<lake>/learned/<name>/``.

This module imports pyarrow only, so the lakehouse can read the registry cheaply and create
one relation per table (over its files, or empty and typed when there are none). The seed's
names (``success_patterns``, ``pattern_usage_log``, ``agent_chaining_patterns``,
``error_patterns``) are views over these base tables, defined in ``learning/views/*.sql``.

Each table is published as ONE file, ``data.parquet``, replaced with ``os.replace``: a reader
sees the previous table or the new one, never a mix (see :func:`learning.store.publish_table`).
"""

from __future__ import annotations

import pyarrow as pa

#: Bumped when a column changes meaning or type; recorded in each file's metadata.
LEARNED_SCHEMA_VERSION = 1

_TS = pa.timestamp("us", tz="UTC")
_STR_LIST = pa.list_(pa.string())


def _schema(name: str, fields: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    return pa.schema(
        [pa.field(n, t, metadata={"description": d}) for n, t, d in fields],
        metadata={"hooklake_learned_table": name, "hooklake_learned_schema_version": str(LEARNED_SCHEMA_VERSION)},
    )


LEARNED_PATTERNS = _schema(
    "learned_patterns",
    [
        ("pattern_id", pa.string(), "Stable id: derived from the execution path and the pattern's first trace."),
        ("version", pa.int32(), "1 for a new pattern; +1 each time its content changes. Old versions are kept."),
        ("is_current", pa.bool_(), "True for the latest version of the pattern."),
        ("status", pa.string(), "active | pruned (replays keep failing) | retired (no longer formed from the lake)."),
        ("status_reason", pa.string(), "Why the pattern is pruned or retired (null when active)."),
        ("path_key", pa.string(), "Hash of the execution path (agents, tools, endpoints); patterns group by it."),
        ("source_correlation_id", pa.string(), "The representative trace (closest to the pattern's centroid)."),
        ("prompt_text", pa.string(), "The representative prompt."),
        ("prompt_examples", _STR_LIST, "Up to a few distinct prompts of the pattern, most central first."),
        ("intent", pa.string(), "Majority intent of the pattern's prompts (taxonomy name)."),
        ("intent_confidence", pa.float64(), "Mean classifier confidence of that intent over the prompts."),
        ("keywords", _STR_LIST, "Most frequent keywords of the pattern's prompts."),
        ("agent", pa.string(), "First delegated subagent type, else 'main' (the main Claude Code agent)."),
        ("agents", _STR_LIST, "Delegated subagent types in order (the chain)."),
        ("routing_strategy", pa.string(), "How the agent was chosen in the source traces: direct | delegated | learned_pattern | ..."),
        ("hook_types", _STR_LIST, "Distinct hook event names seen, in first-seen order."),
        ("tool_names", _STR_LIST, "Distinct tools used, in first-seen order."),
        ("endpoint_paths", _STR_LIST, "Distinct 'service/endpoint' calls (MCP tools, HTTP endpoints), in first-seen order."),
        ("hook_sequence", pa.string(), "JSON list: the representative trace's hook sequence with typical durations."),
        ("endpoint_pattern", pa.string(), "JSON list: service, endpoint, method, request_template, response_schema, typical_duration_ms."),
        ("context", pa.string(), "JSON object: projects (cwd) and sources the pattern was seen in."),
        ("tags", _STR_LIST, "Tags of the source traces."),
        ("trace_count", pa.int64(), "Successful traces grouped into this pattern."),
        ("failed_trace_count", pa.int64(), "Failed traces with the same path and a similar prompt."),
        ("success_score", pa.float64(), "Mean lakehouse success_score of the successful traces."),
        ("avg_duration_ms", pa.float64(), "Mean duration of the successful traces."),
        ("min_duration_ms", pa.float64(), "Fastest successful trace."),
        ("max_duration_ms", pa.float64(), "Slowest successful trace."),
        ("p50_duration_ms", pa.float64(), "Median duration."),
        ("avg_tool_calls", pa.float64(), "Mean tool calls per trace."),
        ("avg_hook_count", pa.float64(), "Mean hook events per trace."),
        ("avg_endpoint_count", pa.float64(), "Mean endpoint calls per trace."),
        ("avg_subagents", pa.float64(), "Mean subagents per trace."),
        ("avg_input_tokens", pa.float64(), "Mean input tokens (null when unknown)."),
        ("avg_output_tokens", pa.float64(), "Mean output tokens (null when unknown)."),
        ("usage_count", pa.int64(), "Replays: later traces that were routed/advised with this pattern."),
        ("success_count", pa.int64(), "Successful replays."),
        ("failure_count", pa.int64(), "Failed replays."),
        ("historical_success", pa.float64(), "(successes+1)/(attempts+2) over source traces and replays: an untried pattern is not a certainty."),
        ("source_trace_ids", _STR_LIST, "Correlation ids of the successful traces (capped, most recent kept)."),
        ("embedding_model", pa.string(), "Model the pattern's prompts were embedded with."),
        ("content_hash", pa.string(), "Hash of the pattern's content; a change gives a new version."),
        ("first_seen_at", _TS, "Earliest source trace."),
        ("last_seen_at", _TS, "Latest source trace."),
        ("last_used_at", _TS, "Latest replay."),
        ("created_at", _TS, "When this version was written."),
        ("updated_at", _TS, "When this row last changed (usage statistics update in place)."),
        ("superseded_at", _TS, "When a newer version replaced this one (null for the current version)."),
        ("learn_run_id", pa.string(), "The learn run that wrote this version."),
    ],
)

LEARNED_PATTERN_USAGE = _schema(
    "learned_pattern_usage",
    [
        ("usage_id", pa.string(), "Deterministic id: (pattern, trace, event)."),
        ("pattern_id", pa.string(), "The pattern that was replayed."),
        ("pattern_version", pa.int32(), "Its version at the time, when the decision recorded it."),
        ("correlation_id", pa.string(), "The trace that received the route or advice."),
        ("user_request", pa.string(), "The trace's prompt."),
        ("match_score", pa.float64(), "Confidence of the match when it was made."),
        ("strategy", pa.string(), "learned_pattern (router) | advice | shadow."),
        ("used", pa.bool_(), "False for shadow/holdout decisions that were only logged."),
        ("outcome", pa.string(), "success | failure | unknown (trace not finished)."),
        ("success", pa.bool_(), "The trace's success (lakehouse criteria); null when unknown."),
        ("deviations", pa.string(), "JSON: agents/tools expected but not used, used but not expected."),
        ("expected_duration_ms", pa.float64(), "The pattern's average duration."),
        ("actual_duration_ms", pa.float64(), "The trace's duration."),
        ("performance_variance", pa.float64(), "(actual - expected) / expected."),
        ("created_at", _TS, "When the decision was made."),
    ],
)

LEARNED_CHAINING = _schema(
    "learned_chaining",
    [
        ("chain_id", pa.string(), "Hash of (primary agent, delegated sequence)."),
        ("primary_agent", pa.string(), "The agent that delegated ('main' for the main Claude Code agent)."),
        ("delegated_agents", _STR_LIST, "Subagent types delegated to, in order."),
        ("delegation_depth", pa.int32(), "Deepest nesting of subagents seen (1 = direct children)."),
        ("trigger_context", pa.string(), "Most central prompt that triggered the chain."),
        ("usage_count", pa.int64(), "Traces with this chain."),
        ("success_count", pa.int64(), "Successful traces with this chain."),
        ("success_rate", pa.float64(), "(successes+1)/(traces+2)."),
        ("avg_total_duration_ms", pa.float64(), "Mean trace duration."),
        ("avg_subagent_duration_ms", pa.float64(), "Mean summed subagent duration per trace."),
        ("avg_coordination_overhead_ms", pa.float64(), "Mean (trace duration - summed subagent durations), floored at 0."),
        ("source_traces", _STR_LIST, "Sample correlation ids (most recent)."),
        ("first_seen_at", _TS, "Earliest trace."),
        ("last_seen_at", _TS, "Latest trace."),
        ("updated_at", _TS, "When the row was written."),
    ],
)

LEARNED_ERRORS = _schema(
    "learned_errors",
    [
        ("error_pattern_id", pa.string(), "Hash of (template, source kind, agent, tool, endpoint)."),
        ("error_type", pa.string(), "timeout | permission | not_found | validation | network | tool_error | ... (from the template)."),
        ("error_message_pattern", pa.string(), "The message with values stripped (numbers, paths, ids, quoted strings)."),
        ("source_kind", pa.string(), "tool | hook | endpoint | agent | stop."),
        ("agent", pa.string(), "Agent type where it happened ('main' when not in a subagent)."),
        ("hook_type", pa.string(), "Hook/event kind where it was seen."),
        ("tool_name", pa.string(), "Tool that failed, when a tool failed."),
        ("endpoint_path", pa.string(), "'service/endpoint' that failed, when an endpoint failed."),
        ("occurrence_count", pa.int64(), "How many times."),
        ("trace_count", pa.int64(), "Distinct traces affected."),
        ("first_seen_at", _TS, "First occurrence."),
        ("last_seen_at", _TS, "Last occurrence."),
        ("sample_correlation_ids", _STR_LIST, "Up to 5 traces with this error (most recent)."),
        ("sample_message", pa.string(), "One raw message (redacted at ingest)."),
        ("severity", pa.string(), "critical | high | medium | low (rule in learning.errorpatterns.severity)."),
        ("updated_at", _TS, "When the row was written."),
    ],
)

#: Base tables written by ``hooklake learn``; ``lakehouse.connect()`` makes a relation for each.
LEARNED_TABLES: dict[str, pa.Schema] = {
    "learned_patterns": LEARNED_PATTERNS,
    "learned_pattern_usage": LEARNED_PATTERN_USAGE,
    "learned_chaining": LEARNED_CHAINING,
    "learned_errors": LEARNED_ERRORS,
}

__all__ = ["LEARNED_TABLES", "LEARNED_SCHEMA_VERSION"]
