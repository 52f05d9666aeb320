-- Per tool and time bucket: calls, failure rate and p95 latency ($bucket: 'hour' or 'day').
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    date_trunc($bucket, c.started_at)                         AS bucket,
    c.tool_name,
    count(*)                                                   AS calls,
    avg(CASE WHEN c.status IN ('error', 'interrupted') THEN 1.0 ELSE 0.0 END) AS failure_rate,
    quantile_cont(c.duration_ms, 0.95)                         AS p95_ms
FROM tool_calls c JOIN ft USING (correlation_id)
WHERE c.started_at IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
