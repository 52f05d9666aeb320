-- Raw (already redacted) events of a trace and its subagent runs, in order. $ids: from trace_tree.
SELECT event_time, event_name, agent_type, tool_name, status, duration_ms, error_message, correlation_id, payload
FROM events
WHERE list_contains($ids, correlation_id)
ORDER BY event_time, captured_at
LIMIT 2000
