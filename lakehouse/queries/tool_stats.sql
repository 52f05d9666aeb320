-- Per tool: calls, failure rate and latency percentiles, over traces matching the filters
-- (subagent traces included, so a tool used inside a subagent counts).
WITH ft AS (
    SELECT correlation_id FROM execution_traces
    WHERE ($since IS NULL OR started_at >= $since)
      AND ($until IS NULL OR started_at < $until)
      AND ($session IS NULL OR session_id = $session)
      AND ($project IS NULL OR cwd = $project)
      AND ($agent IS NULL OR agent_type = $agent OR list_contains(agents, $agent))
)
SELECT
    c.tool_name,
    any_value(c.mcp_server)                                    AS mcp_server,
    count(*)                                                   AS calls,
    sum(CASE WHEN c.status = 'error' THEN 1 ELSE 0 END)        AS failures,
    sum(CASE WHEN c.status = 'interrupted' THEN 1 ELSE 0 END)  AS interrupted,
    avg(CASE WHEN c.status IN ('error', 'interrupted') THEN 1.0 ELSE 0.0 END) AS failure_rate,
    quantile_cont(c.duration_ms, 0.5)                          AS p50_ms,
    quantile_cont(c.duration_ms, 0.95)                         AS p95_ms,
    quantile_cont(c.duration_ms, 0.99)                         AS p99_ms,
    max(c.duration_ms)                                         AS max_ms
FROM tool_calls c JOIN ft USING (correlation_id)
GROUP BY c.tool_name
ORDER BY calls DESC
