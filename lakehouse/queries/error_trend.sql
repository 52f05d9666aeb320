-- Errors per time bucket and source kind (tool, hook, endpoint, agent, stop).
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    date_trunc($bucket, e.occurred_at)                        AS bucket,
    e.source_kind,
    count(*)                                                   AS errors
FROM error_events e JOIN ft USING (correlation_id)
WHERE e.occurred_at IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
