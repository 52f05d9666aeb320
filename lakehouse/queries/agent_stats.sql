-- Per subagent type: runs, error rate (runs that did not succeed, by the lakehouse's criteria) and duration percentiles (from subagent runs matching the filters).
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    coalesce(nullif(s.agent_type, ''), '(unnamed)')            AS agent_type,
    count(*)                                                   AS runs,
    count(*) FILTER (WHERE NOT coalesce(s.success, false) AND s.status <> 'in_progress') AS errors,
    avg(CASE WHEN s.success THEN 0.0 ELSE 1.0 END) FILTER (WHERE s.status <> 'in_progress') AS error_rate,
    quantile_cont(s.duration_ms, 0.5)                          AS p50_ms,
    quantile_cont(s.duration_ms, 0.95)                         AS p95_ms,
    max(s.depth)                                               AS max_depth
FROM subagent_runs s JOIN ft USING (correlation_id)
GROUP BY 1
ORDER BY runs DESC
