-- Per endpoint (service/endpoint, MCP server/tool for Claude Code): calls, error rate, latency percentiles.
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    e.service,
    e.endpoint,
    e.service || '/' || e.endpoint                             AS endpoint_path,
    count(*)                                                   AS calls,
    sum(CASE WHEN e.status <> 'ok' THEN 1 ELSE 0 END)          AS errors,
    avg(CASE WHEN e.status <> 'ok' THEN 1.0 ELSE 0.0 END)      AS error_rate,
    quantile_cont(e.duration_ms, 0.5)                          AS p50_ms,
    quantile_cont(e.duration_ms, 0.95)                         AS p95_ms,
    quantile_cont(e.duration_ms, 0.99)                         AS p99_ms,
    max(e.started_at)                                          AS last_call_at
FROM endpoint_calls e JOIN ft USING (correlation_id)
GROUP BY e.service, e.endpoint
ORDER BY calls DESC
