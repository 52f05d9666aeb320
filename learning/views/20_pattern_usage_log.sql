-- pattern_usage_log: the seed's replay log. One row per trace that was routed or advised with
-- a learned pattern, with its outcome once the trace finished. user_feedback comes from explicit
-- feedback events when the lakehouse has them; it is NULL here.
CREATE OR REPLACE VIEW pattern_usage_log AS
SELECT
    usage_id AS id,
    pattern_id,
    pattern_version,
    correlation_id,
    user_request,
    match_score,
    strategy,
    used,
    outcome,
    success,
    deviations,
    CAST(round(expected_duration_ms) AS INTEGER) AS expected_duration_ms,
    CAST(round(actual_duration_ms) AS INTEGER) AS actual_duration_ms,
    performance_variance,
    CAST(NULL AS VARCHAR) AS user_feedback,
    created_at
FROM learned_pattern_usage;
