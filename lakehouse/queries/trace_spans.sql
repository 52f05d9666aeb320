-- Waterfall spans of one trace and its subagent runs: tool calls (MCP calls are endpoint spans) and
-- subagent runs, each with its depth in the subagent tree. $ids: the trace's correlation ids (trace_tree).
SELECT
    'tool' AS span_kind,
    CASE WHEN c.mcp_server IS NOT NULL THEN 'endpoint' ELSE 'tool' END AS category,
    c.correlation_id,
    c.tool_use_id AS span_id,
    coalesce(c.mcp_server || '/' || c.mcp_tool, c.tool_name) AS label,
    c.tool_name,
    c.agent_id,
    c.started_at,
    coalesce(c.ended_at, c.started_at) AS ended_at,
    c.duration_ms,
    c.status,
    c.error_message
FROM tool_calls c
WHERE list_contains($ids, c.correlation_id)
UNION ALL
SELECT
    'subagent',
    'subagent',
    s.parent_correlation_id,
    s.parent_tool_use_id,
    coalesce(nullif(s.agent_type, ''), 'subagent') AS label,
    'Agent',
    s.agent_id,
    s.started_at,
    coalesce(s.ended_at, s.started_at),
    s.duration_ms,
    s.status,
    NULL
FROM subagent_runs s
WHERE list_contains($ids, s.correlation_id)
ORDER BY started_at NULLS LAST
