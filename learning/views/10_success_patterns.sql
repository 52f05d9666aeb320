-- success_patterns: the seed's learned-pattern table, one row per CURRENT pattern version.
-- Over learned_patterns (all versions are kept there; filter is_current = false for history).
-- Seed columns without a source in Claude Code: prompt_embedding (vectors live in the FAISS
-- index, not in the lake: NULL here), avg_rag_query_count (no RAG events: 0).
-- success_rate: replay successes over replays with a (s+1)/(n+2) prior, never a bare 1.0.
CREATE OR REPLACE VIEW success_patterns AS
SELECT
    pattern_id || ':' || CAST(version AS VARCHAR) AS id,
    pattern_id,
    version,
    status,
    source_correlation_id,
    prompt_text,
    CAST(NULL AS FLOAT[]) AS prompt_embedding,
    intent,
    keywords,
    agent,
    routing_strategy,
    hook_sequence,
    endpoint_pattern,
    CAST(round(avg_duration_ms) AS INTEGER) AS avg_duration_ms,
    CAST(round(min_duration_ms) AS INTEGER) AS min_duration_ms,
    CAST(round(max_duration_ms) AS INTEGER) AS max_duration_ms,
    CAST(round(avg_hook_count) AS INTEGER) AS avg_hook_count,
    CAST(round(avg_endpoint_count) AS INTEGER) AS avg_endpoint_count,
    0 AS avg_rag_query_count,
    success_score,
    usage_count,
    success_count,
    failure_count,
    context,
    tags,
    created_at,
    last_used_at,
    updated_at,
    (success_count + 1.0) / (usage_count + 2.0) AS success_rate,
    historical_success,
    trace_count,
    failed_trace_count,
    agents,
    tool_names,
    endpoint_paths,
    hook_types,
    source_trace_ids,
    path_key,
    first_seen_at,
    last_seen_at
FROM learned_patterns
WHERE is_current;
