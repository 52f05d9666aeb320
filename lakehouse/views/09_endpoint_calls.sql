-- endpoint_calls: the seed's endpoint_calls. One row per call to a backend service:
--   * MCP tool calls of Claude Code (tool mcp__<server>__<tool>): service = server, endpoint = tool,
--     kind 'mcp', from tool_calls_base;
--   * HTTP calls recorded by the SDK (endpoint_call events from the ASGI middleware / httpx hooks):
--     kind 'http'.
-- Materialised by the rollup.
--
-- session_key      See trace_events.
-- call_id          event_id of the end event (MCP) or of the endpoint_call event.
-- correlation_id   Trace that made the call (X-Correlation-ID for SDK calls).
-- session_id, agent_id
-- service          MCP server name, or the SDK's service (host name when not configured).
-- endpoint         MCP tool name, or the HTTP path.
-- kind             mcp / http.
-- method           HTTP method (NULL for MCP).
-- side             client / server (SDK), NULL for MCP.
-- started_at       Call start (PreToolUse / the SDK's timestamp).
-- duration_ms      Reported duration.
-- status           ok / error / interrupted; NULL while an MCP call is open (see tool_calls).
-- status_code      HTTP status code (NULL for MCP: Claude Code does not report one).
-- error_type       SDK error type; for MCP failures 'tool_error' (or 'timeout' when the text says so).
-- error_message
-- retries          Retries the SDK reported (0 for MCP: Claude Code does not report retries).
CREATE OR REPLACE VIEW endpoint_calls AS
SELECT
    session_key,
    coalesce(end_event_id, start_event_id) AS call_id,
    correlation_id,
    session_id,
    agent_id,
    mcp_server AS service,
    mcp_tool AS endpoint,
    'mcp' AS kind,
    NULL::VARCHAR AS method,
    NULL::VARCHAR AS side,
    started_at,
    duration_ms,
    end_status AS status,
    NULL::INTEGER AS status_code,
    CASE
        WHEN end_status = 'error' AND regexp_matches(coalesce(error_message, ''), '(?i)time[sd]? ?out|timed out|deadline exceeded') THEN 'timeout'
        WHEN end_status = 'error' THEN 'tool_error'
        WHEN end_status = 'interrupted' THEN 'interrupted'
    END AS error_type,
    error_message,
    0 AS retries
FROM tool_calls_base
WHERE mcp_server IS NOT NULL
UNION ALL
SELECT
    session_key,
    event_id,
    trace_id,
    session_id,
    nullif(agent_id, ''),
    coalesce(mcp_server, json_extract_string(payload, '$.service')),
    coalesce(mcp_tool, json_extract_string(payload, '$.endpoint')),
    'http',
    json_extract_string(payload, '$.method'),
    json_extract_string(payload, '$.side'),
    event_time,
    duration_ms,
    coalesce(status, json_extract_string(payload, '$.status'),
        CASE WHEN TRY_CAST(json_extract_string(payload, '$.status_code') AS INTEGER) >= 400 THEN 'error' ELSE 'ok' END),
    TRY_CAST(json_extract_string(payload, '$.status_code') AS INTEGER),
    json_extract_string(payload, '$.error_type'),
    coalesce(error_message, json_extract_string(payload, '$.error')),
    coalesce(TRY_CAST(json_extract_string(payload, '$.retries') AS INTEGER), 0)
FROM trace_events
WHERE event_kind = 'endpoint_call';
