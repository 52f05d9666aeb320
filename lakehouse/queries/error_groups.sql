-- Error templates with counts, first/last seen, the agents/tools/endpoints they hit and sample traces.
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    e.error_template,
    any_value(e.source_kind)                                   AS source_kind,
    count(*)                                                   AS occurrences,
    count(DISTINCT e.correlation_id)                           AS traces,
    min(e.occurred_at)                                         AS first_seen,
    max(e.occurred_at)                                         AS last_seen,
    list(DISTINCT nullif(e.agent_type, '')) FILTER (WHERE nullif(e.agent_type, '') IS NOT NULL) AS agents,
    list(DISTINCT e.tool_name) FILTER (WHERE e.tool_name IS NOT NULL) AS tools,
    list(DISTINCT e.service || '/' || e.endpoint) FILTER (WHERE e.endpoint IS NOT NULL) AS endpoints,
    any_value(e.error_message)                                 AS sample_message,
    list(DISTINCT e.correlation_id)[1:5]                       AS sample_traces
FROM error_events e JOIN ft USING (correlation_id)
GROUP BY e.error_template
ORDER BY occurrences DESC
LIMIT $limit
