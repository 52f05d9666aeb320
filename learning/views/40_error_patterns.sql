-- error_patterns: error messages normalised into templates, by agent / hook / tool / endpoint.
-- known_fix and prevention_strategy have no source (NULL): nothing in a trace says how an error
-- was fixed. tags: the source kind (tool/hook/endpoint/agent/stop).
CREATE OR REPLACE VIEW error_patterns AS
SELECT
    error_pattern_id AS id,
    error_type,
    error_message_pattern,
    agent,
    hook_type,
    endpoint_path,
    tool_name,
    source_kind,
    occurrence_count,
    trace_count,
    first_seen_at,
    last_seen_at,
    sample_correlation_ids,
    sample_message,
    CAST(NULL AS JSON) AS known_fix,
    CAST(NULL AS JSON) AS prevention_strategy,
    [source_kind] AS tags,
    severity,
    first_seen_at AS created_at,
    updated_at
FROM learned_errors;
