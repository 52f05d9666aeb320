-- Per endpoint and time bucket: calls, error rate and p95 latency.
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    date_trunc($bucket, e.started_at)                         AS bucket,
    e.service || '/' || e.endpoint                             AS endpoint_path,
    count(*)                                                   AS calls,
    avg(CASE WHEN e.status <> 'ok' THEN 1.0 ELSE 0.0 END)      AS error_rate,
    quantile_cont(e.duration_ms, 0.95)                         AS p95_ms
FROM endpoint_calls e JOIN ft USING (correlation_id)
WHERE e.started_at IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
