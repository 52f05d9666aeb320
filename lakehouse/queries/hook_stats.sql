-- Per hook: executions, failure rate, latency percentiles (measured for wrapped user hooks; Claude
-- Code does not time its own hook events, so those have counts only), blocked tool calls.
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    h.hook_name,
    h.hook_type,
    any_value(h.hook_event)                                    AS hook_event,
    count(*)                                                   AS executions,
    count(*) FILTER (WHERE h.status IN ('error', 'timeout'))   AS failures,
    count(*) FILTER (WHERE h.status = 'timeout')               AS timeouts,
    count(*) FILTER (WHERE h.decision IN ('block', 'deny') OR h.exit_code = 2) AS blocked,
    avg(CASE WHEN h.status IN ('error', 'timeout') THEN 1.0 ELSE 0.0 END) AS failure_rate,
    quantile_cont(h.duration_ms, 0.5)                          AS p50_ms,
    quantile_cont(h.duration_ms, 0.95)                         AS p95_ms,
    quantile_cont(h.duration_ms, 0.99)                         AS p99_ms,
    max(h.duration_ms)                                         AS max_ms
FROM hook_executions h JOIN ft USING (correlation_id)
GROUP BY h.hook_name, h.hook_type
ORDER BY (h.hook_type = 'capture'), executions DESC
