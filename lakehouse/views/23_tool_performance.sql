-- tool_performance: per tool over tool_calls.
--
-- tool_name              Bash, Write, Agent, mcp__server__tool, ...
-- calls                  Tool calls.
-- ok, errors, interrupted, in_progress   By status.
-- success_rate           ok / finished calls.
-- avg_duration_ms, p50_duration_ms, p95_duration_ms, max_duration_ms   Reported durations.
-- last_used_at           Latest call.
CREATE OR REPLACE VIEW tool_performance AS
SELECT
    tool_name,
    count(*) AS calls,
    count(*) FILTER (WHERE status = 'ok') AS ok,
    count(*) FILTER (WHERE status = 'error') AS errors,
    count(*) FILTER (WHERE status = 'interrupted') AS interrupted,
    count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
    round(count(*) FILTER (WHERE status = 'ok') / nullif(count(*) FILTER (WHERE status <> 'in_progress'), 0), 4) AS success_rate,
    round(avg(duration_ms), 2) AS avg_duration_ms,
    round(quantile_cont(duration_ms, 0.5), 2) AS p50_duration_ms,
    round(quantile_cont(duration_ms, 0.95), 2) AS p95_duration_ms,
    max(duration_ms) AS max_duration_ms,
    max(started_at) AS last_used_at
FROM tool_calls
GROUP BY tool_name;
