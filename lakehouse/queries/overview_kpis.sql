-- Headline numbers of the Overview page: root traces only (a subagent run is part of its parent's trace).
-- Parameters: $since, $until, $session, $project, $agent (NULL = no filter).
SELECT
    count(*)                                                   AS traces,
    count(DISTINCT session_id)                                 AS sessions,
    count(DISTINCT cwd)                                        AS projects,
    avg(CASE WHEN success THEN 1.0 ELSE 0.0 END)               AS success_rate,
    quantile_cont(duration_ms, 0.5)                            AS p50_duration_ms,
    quantile_cont(duration_ms, 0.95)                           AS p95_duration_ms,
    sum(tool_calls)                                            AS tool_calls,
    sum(tool_failures)                                         AS tool_failures,
    sum(tool_failures) / nullif(sum(tool_calls), 0)            AS tool_failure_rate,
    sum(subagents)                                             AS subagents,
    sum(input_tokens)                                          AS input_tokens,
    sum(output_tokens)                                         AS output_tokens,
    sum(cost_usd)                                              AS cost_usd,
    min(started_at)                                            AS first_trace_at,
    max(started_at)                                            AS last_trace_at
FROM execution_traces
WHERE NOT coalesce(is_subagent, false)
  AND ($since IS NULL OR started_at >= $since)
  AND ($until IS NULL OR started_at < $until)
  AND ($session IS NULL OR session_id = $session)
  AND ($project IS NULL OR cwd = $project)
  AND ($agent IS NULL OR list_contains(agents, $agent))
