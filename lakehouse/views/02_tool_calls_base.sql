-- tool_calls_base: one row per tool call, before time-dependent status (see tool_calls).
-- Materialised by the rollup; every column is also in tool_calls.
--
-- Pairing: a PreToolUse (tool_start) is paired with its PostToolUse (tool_end) or PostToolUseFailure
-- (tool_failure) by (session, tool_use_id). Old Claude Code versions send no tool_use_id: there the
-- n-th start of a tool in a trace is paired with the n-th end of the same tool in that trace (order
-- of event_time). An end without a start (hooks installed mid-call) is still a call.
-- If a call is reported twice (live hook and transcript) the live row wins.
--
-- session_key        See trace_events.
-- correlation_id     The trace that made the call (a child trace id inside subagents).
-- session_id         Claude Code session.
-- agent_id           Subagent that made the call (NULL in the main conversation).
-- agent_type         Its subagent type.
-- tool_use_id        Claude Code's id of the call (NULL for old versions).
-- tool_name          Bash, Write, Agent, mcp__server__tool, ...
-- mcp_server         Server of an MCP tool (mcp__<server>__<tool>), else NULL.
-- mcp_tool           Tool part of an MCP tool name, else NULL.
-- started_at         Time of the PreToolUse (else of the end event).
-- ended_at           Time of the PostToolUse/PostToolUseFailure; NULL while open.
-- duration_ms        duration_ms reported by Claude Code, else ended_at - started_at.
-- end_status         ok / error / interrupted from the end event; NULL while open.
-- open_status        For a call without end: 'interrupted' when its trace already ended (Stop,
--                    StopFailure, SubagentStop), the session ended, or (main conversation only: a
--                    subagent may run in the background) a later prompt came; else 'in_progress'.
--                    NULL for ended calls.
-- error_message      Error text of a failed call.
-- is_interrupt       PostToolUseFailure with is_interrupt (the user pressed Esc).
-- tool_input         The tool's input as JSON text.
-- subagent_type      For Agent/Task calls: tool_input.subagent_type (NULL otherwise).
-- run_in_background  For Agent/Task calls: tool_input.run_in_background.
-- response_agent_id  For Agent/Task calls: the agentId the tool response names (links the child trace).
-- start_event_id     event_id of the PreToolUse.
-- end_event_id       event_id of the end event.
CREATE OR REPLACE VIEW tool_calls_base AS
WITH tool_events AS (
    SELECT
        event_id, event_kind, source, session_key, trace_id, session_id, agent_id, agent_type,
        tool_use_id, tool_name, mcp_server, mcp_tool, event_time, captured_at, duration_ms, status,
        CASE WHEN event_kind = 'tool_failure' THEN coalesce(error_message, json_extract_string(payload, '$.error')) END AS error_message,
        (event_kind = 'tool_failure' AND (status = 'interrupted'
            OR coalesce(TRY_CAST(json_extract_string(payload, '$.is_interrupt') AS BOOLEAN), false))) AS interrupt_flag,
        json_extract(payload, '$.tool_input')::VARCHAR AS tool_input,
        CASE WHEN tool_name IN ('Agent', 'Task') AND event_kind = 'tool_end'
             THEN coalesce(json_extract_string(payload, '$.tool_response.agentId'),
                           json_extract_string(payload, '$.tool_response.agent_id')) END AS response_agent_id
    FROM trace_events
    WHERE event_kind IN ('tool_start', 'tool_end', 'tool_failure')
),
starts_all AS (
    SELECT *,
        row_number() OVER (PARTITION BY session_key, tool_use_id ORDER BY (source = 'transcript'), event_time, event_id) AS dup
    FROM tool_events WHERE event_kind = 'tool_start'
),
starts AS (
    SELECT *,
        row_number() OVER (PARTITION BY session_key, trace_id, tool_name ORDER BY event_time, captured_at, event_id) AS ord
    FROM starts_all WHERE tool_use_id IS NULL OR dup = 1
),
ends_all AS (
    SELECT *,
        row_number() OVER (PARTITION BY session_key, tool_use_id ORDER BY (source = 'transcript'), event_time, event_id) AS dup
    FROM tool_events WHERE event_kind IN ('tool_end', 'tool_failure')
),
ends AS (
    SELECT *,
        row_number() OVER (PARTITION BY session_key, trace_id, tool_name ORDER BY event_time, captured_at, event_id) AS ord
    FROM ends_all WHERE tool_use_id IS NULL OR dup = 1
),
by_id AS (
    SELECT s.event_id AS s_id, e.event_id AS e_id
    FROM (SELECT * FROM starts WHERE tool_use_id IS NOT NULL) s
    FULL OUTER JOIN (SELECT * FROM ends WHERE tool_use_id IS NOT NULL) e
        ON s.session_key = e.session_key AND s.tool_use_id = e.tool_use_id
),
by_order AS (
    SELECT s.event_id AS s_id, e.event_id AS e_id
    FROM (SELECT * FROM starts WHERE tool_use_id IS NULL) s
    FULL OUTER JOIN (SELECT * FROM ends WHERE tool_use_id IS NULL) e
        ON s.session_key = e.session_key AND s.trace_id = e.trace_id
        AND s.tool_name = e.tool_name AND s.ord = e.ord
),
pairs AS (
    SELECT * FROM by_id UNION ALL SELECT * FROM by_order
),
joined AS (
    SELECT
        coalesce(s.session_key, e.session_key) AS session_key,
        coalesce(s.trace_id, e.trace_id) AS correlation_id,
        coalesce(s.session_id, e.session_id) AS session_id,
        nullif(coalesce(s.agent_id, e.agent_id), '') AS agent_id,
        coalesce(s.agent_type, e.agent_type) AS agent_type,
        coalesce(s.tool_use_id, e.tool_use_id) AS tool_use_id,
        coalesce(s.tool_name, e.tool_name) AS tool_name,
        coalesce(s.mcp_server, e.mcp_server) AS mcp_server,
        coalesce(s.mcp_tool, e.mcp_tool) AS mcp_tool,
        coalesce(s.event_time, e.event_time) AS started_at,
        e.event_time AS ended_at,
        coalesce(e.duration_ms,
            CASE WHEN s.event_time IS NOT NULL AND e.event_time IS NOT NULL
                 THEN date_diff('microsecond', s.event_time, e.event_time) / 1000.0 END) AS duration_ms,
        CASE
            WHEN e.event_id IS NULL THEN NULL
            WHEN e.event_kind = 'tool_end' THEN 'ok'
            WHEN e.interrupt_flag THEN 'interrupted'
            ELSE 'error'
        END AS end_status,
        e.error_message,
        coalesce(s.tool_input, e.tool_input) AS tool_input,
        e.response_agent_id,
        s.event_id AS start_event_id,
        e.event_id AS end_event_id
    FROM pairs p
    LEFT JOIN starts s ON s.event_id = p.s_id
    LEFT JOIN ends e ON e.event_id = p.e_id
),
trace_ends AS (
    SELECT trace_id, max(event_time) AS ended_at
    FROM trace_events
    WHERE event_kind IN ('stop', 'stop_failure', 'subagent_stop')
    GROUP BY trace_id
),
session_marks AS (
    SELECT session_key,
        max(event_time) FILTER (WHERE event_kind = 'prompt') AS last_prompt_at,
        max(event_time) FILTER (WHERE event_kind = 'session_end') AS last_end_at
    FROM trace_events
    WHERE event_kind IN ('prompt', 'session_end')
    GROUP BY session_key
)
SELECT
    j.session_key, j.correlation_id, j.session_id, j.agent_id, j.agent_type, j.tool_use_id, j.tool_name,
    j.mcp_server, j.mcp_tool, j.started_at, j.ended_at, j.duration_ms, j.end_status,
    CASE
        WHEN j.end_status IS NOT NULL THEN NULL
        WHEN te.ended_at >= j.started_at OR sm.last_end_at > j.started_at THEN 'interrupted'
        WHEN j.agent_id IS NULL AND sm.last_prompt_at > j.started_at THEN 'interrupted'
        ELSE 'in_progress'
    END AS open_status,
    j.error_message,
    (j.end_status = 'interrupted') AS is_interrupt,
    j.tool_input,
    CASE WHEN j.tool_name IN ('Agent', 'Task')
         THEN coalesce(nullif(json_extract_string(j.tool_input, '$.subagent_type'), ''), 'general-purpose') END AS subagent_type,
    CASE WHEN j.tool_name IN ('Agent', 'Task')
         THEN coalesce(TRY_CAST(json_extract_string(j.tool_input, '$.run_in_background') AS BOOLEAN), false) END AS run_in_background,
    j.response_agent_id,
    j.start_event_id, j.end_event_id
FROM joined j
LEFT JOIN trace_ends te ON te.trace_id = j.correlation_id
LEFT JOIN session_marks sm ON sm.session_key = j.session_key;
