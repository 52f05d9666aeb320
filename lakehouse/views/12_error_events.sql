-- error_events: every error in the lake, one row each, with a normalised template for
-- error-pattern mining. Materialised by the rollup.
--
-- session_key      See trace_events.
-- error_id         event_id of the event that reported the error.
-- correlation_id   Trace the error happened in (child trace id inside subagents).
-- session_id
-- occurred_at      Event time.
-- source_kind      tool    a failed tool call (PostToolUseFailure; interrupts are not errors);
--                  agent   a failed Agent/Task call (the subagent could not run or failed);
--                  endpoint a failed MCP tool call or SDK endpoint call;
--                  hook    a failed / timed-out wrapped hook or failed intelligence report;
--                  stop    a StopFailure (the turn ended on an API error).
-- agent_type       Subagent type when the error happened inside a subagent (or of the failed Agent
--                  call), else NULL.
-- tool_name        Tool of tool / agent / MCP errors.
-- service, endpoint  For endpoint errors.
-- hook_name        For hook errors.
-- error_type       tool_error / timeout / SDK or wrapper error type / stop_failure.
-- error_message    The text as recorded (redacted at ingest).
-- error_template   error_message with quoted strings -> <str>, UUIDs -> <uuid>, paths -> <path>,
--                  prefixed ids (toolu_..., req_...) -> <id>, hex -> <hex>, numbers -> <n>,
--                  whitespace collapsed, at most 300 characters: errors that differ only in
--                  those parts share a template.
CREATE OR REPLACE VIEW error_events AS
WITH raw AS (
    SELECT session_key, coalesce(end_event_id, start_event_id) AS error_id, correlation_id, session_id,
        ended_at AS occurred_at,
        CASE WHEN tool_name IN ('Agent', 'Task') THEN 'agent' ELSE 'tool' END AS source_kind,
        coalesce(agent_type, subagent_type) AS agent_type, tool_name, NULL::VARCHAR AS service,
        NULL::VARCHAR AS endpoint, NULL::VARCHAR AS hook_name,
        CASE WHEN regexp_matches(coalesce(error_message, ''), '(?i)time[sd]? ?out|timed out|deadline exceeded')
             THEN 'timeout' ELSE 'tool_error' END AS error_type,
        error_message
    FROM tool_calls_base
    WHERE end_status = 'error' AND mcp_server IS NULL
    UNION ALL
    SELECT c.session_key, c.call_id, c.correlation_id, c.session_id, c.started_at, 'endpoint',
        NULL, CASE WHEN c.kind = 'mcp' THEN 'mcp__' || c.service || '__' || c.endpoint END,
        c.service, c.endpoint, NULL, coalesce(c.error_type, 'endpoint_error'),
        coalesce(c.error_message, CASE WHEN c.status_code IS NOT NULL THEN 'HTTP ' || c.status_code END)
    FROM endpoint_calls c
    WHERE c.status IN ('error', 'timeout')
    UNION ALL
    SELECT h.session_key, h.execution_id, h.correlation_id, h.session_id, h.started_at, 'hook',
        h.agent_type, h.tool_name, NULL, NULL, h.hook_name, coalesce(h.error_type, h.status),
        coalesce(h.error_message, 'hook ' || h.hook_name || ' ' || h.status)
    FROM hook_executions h
    WHERE h.hook_type <> 'capture' AND h.status IN ('error', 'timeout')
    UNION ALL
    SELECT session_key, event_id, trace_id, session_id, event_time, 'stop',
        nullif(agent_type, ''), NULL, NULL, NULL, NULL, 'stop_failure',
        coalesce(error_message, json_extract_string(payload, '$.error'))
    FROM trace_events
    WHERE event_kind = 'stop_failure'
)
SELECT
    raw.*,
    left(trim(regexp_replace(
        regexp_replace(
        regexp_replace(
        regexp_replace(
        regexp_replace(
        regexp_replace(
        regexp_replace(
            coalesce(error_message, ''),
            '"[^"]*"|''[^'']*''|`[^`]*`', '<str>', 'g'),
            '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>', 'g'),
            '(~|\.{1,2})?(/[^\s/:,;()''"`<>]+)+/?', '<path>', 'g'),
            '\b[A-Za-z]+_[A-Za-z0-9]{8,}\b', '<id>', 'g'),
            '\b(0x[0-9a-fA-F]+|[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*|[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*)\b', '<hex>', 'g'),
            '[0-9]+(\.[0-9]+)?', '<n>', 'g'),
            '\s+', ' ', 'g')), 300) AS error_template
FROM raw;
