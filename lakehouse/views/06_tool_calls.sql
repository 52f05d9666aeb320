-- tool_calls: one row per tool call (PreToolUse paired with PostToolUse / PostToolUseFailure; see
-- tool_calls_base for the pairing rule).
--
-- correlation_id, session_id, agent_id, agent_type, tool_use_id, tool_name, mcp_server, mcp_tool,
-- started_at, ended_at, duration_ms, error_message, is_interrupt, tool_input, subagent_type,
-- run_in_background, response_agent_id: see tool_calls_base.
-- status   ok / error / interrupted from the end event; a call without end is 'interrupted' when its
--          trace or session moved on (open_status) or nothing happened for in_progress_timeout_s,
--          else 'in_progress'.
CREATE OR REPLACE VIEW tool_calls AS
SELECT
    correlation_id, session_id, agent_id, agent_type, tool_use_id, tool_name, mcp_server, mcp_tool,
    started_at, ended_at, duration_ms,
    CASE
        WHEN end_status IS NOT NULL THEN end_status
        WHEN open_status = 'interrupted' THEN 'interrupted'
        WHEN started_at < now() - to_seconds((SELECT in_progress_timeout_s FROM lakehouse_settings LIMIT 1)) THEN 'interrupted'
        ELSE 'in_progress'
    END AS status,
    error_message, is_interrupt, tool_input, subagent_type, run_in_background, response_agent_id,
    start_event_id, end_event_id, session_key
FROM tool_calls_base;
