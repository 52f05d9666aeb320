-- Traces, success rate, duration percentiles and tool failure rate per time bucket ($bucket: 'hour' or 'day').
SELECT
    date_trunc($bucket, started_at)                            AS bucket,
    count(*)                                                   AS traces,
    avg(CASE WHEN success THEN 1.0 ELSE 0.0 END)               AS success_rate,
    quantile_cont(duration_ms, 0.5)                            AS p50_duration_ms,
    quantile_cont(duration_ms, 0.95)                           AS p95_duration_ms,
    sum(tool_failures) / nullif(sum(tool_calls), 0)            AS tool_failure_rate,
    sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END)          AS errors,
    sum(input_tokens)                                          AS input_tokens,
    sum(output_tokens)                                         AS output_tokens,
    sum(cost_usd)                                              AS cost_usd
FROM execution_traces
WHERE NOT coalesce(is_subagent, false)
  AND started_at IS NOT NULL
  AND ($since IS NULL OR started_at >= $since)
  AND ($until IS NULL OR started_at < $until)
  AND ($session IS NULL OR session_id = $session)
  AND ($project IS NULL OR cwd = $project)
  AND ($agent IS NULL OR list_contains(agents, $agent))
GROUP BY 1
ORDER BY 1
