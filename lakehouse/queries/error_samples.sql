-- The latest occurrences of one error template.
SELECT occurred_at, correlation_id, source_kind, agent_type, tool_name, service, endpoint, error_message
FROM error_events
WHERE error_template = $template
ORDER BY occurred_at DESC
LIMIT 20
