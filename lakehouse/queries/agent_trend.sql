-- Per subagent type and time bucket: runs, error rate and p95 duration.
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    date_trunc($bucket, s.started_at)                         AS bucket,
    coalesce(nullif(s.agent_type, ''), '(unnamed)')            AS agent_type,
    count(*)                                                   AS runs,
    avg(CASE WHEN s.success THEN 0.0 ELSE 1.0 END) FILTER (WHERE s.status <> 'in_progress') AS error_rate,
    quantile_cont(s.duration_ms, 0.95)                         AS p95_ms
FROM subagent_runs s JOIN ft USING (correlation_id)
WHERE s.started_at IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
