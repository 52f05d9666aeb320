-- Per timed hook (wrapped user hooks, reported functions) and time bucket: runs, failure rate, p95.
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    date_trunc($bucket, h.started_at)                         AS bucket,
    h.hook_name,
    count(*)                                                   AS executions,
    avg(CASE WHEN h.status IN ('error', 'timeout') THEN 1.0 ELSE 0.0 END) AS failure_rate,
    quantile_cont(h.duration_ms, 0.95)                         AS p95_ms
FROM hook_executions h JOIN ft USING (correlation_id)
WHERE h.started_at IS NOT NULL AND h.hook_type <> 'capture'
GROUP BY 1, 2
ORDER BY 1, 2
