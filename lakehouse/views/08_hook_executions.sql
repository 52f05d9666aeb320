-- hook_executions: the seed's hook_executions. One row per hook invocation:
--   * every Claude Code hook event the capture hook recorded (hook_type 'capture'): Claude Code does
--     not report how long its hooks take, so duration_ms, exit_code and decision are NULL and status
--     is 'ok' (the event was captured);
--   * every user hook run through `hooklake run` (hook_type 'wrapped', event hook_execution): its
--     measured duration, exit code, decision, status and what it reported;
--   * every intelligence function / RAG query / quality gate a hook or service reported
--     (hook_type 'intelligence', event intelligence).
-- Materialised by the rollup.
--
-- session_key            See trace_events.
-- execution_id           event_id of the row.
-- correlation_id         Trace (child trace id inside subagents).
-- session_id, agent_id, agent_type
-- hook_name              Claude Code event name (capture), the wrapped hook's name, or the reported
--                        function / query / gate name.
-- hook_event             The Claude Code event the hook ran for (PreToolUse, Stop, ...).
-- hook_type              capture / wrapped / intelligence.
-- intelligence_type      intelligence_function / rag_query / quality_gate (intelligence rows).
-- tool_name, tool_use_id The tool of tool events.
-- started_at             Event time.
-- duration_ms            Measured duration (wrapped hooks, intelligence reports).
-- status                 ok / error (timeout for timed-out wrapped hooks).
-- exit_code              Wrapped hooks: exit code (2 blocks the tool call).
-- decision               Wrapped hooks: allow / block / deny / ask / timeout / error.
-- timed_out              Wrapped hook killed after its timeout.
-- error_message, error_type
-- intelligence_functions, rag_queries, quality_gates   Wrapped hooks: how many of each it reported.
-- quality_gates_failed   Wrapped hooks: reported gates that did not pass; intelligence rows: 1 for
--                        a failed gate.
-- source, host
CREATE OR REPLACE VIEW hook_executions AS
SELECT
    session_key,
    event_id AS execution_id,
    trace_id AS correlation_id,
    session_id,
    nullif(agent_id, '') AS agent_id,
    agent_type,
    CASE
        WHEN event_kind = 'hook_execution'
            THEN coalesce(json_extract_string(payload, '$.hook_name'), json_extract_string(payload, '$.command'), event_name)
        WHEN event_kind = 'intelligence'
            THEN coalesce(json_extract_string(payload, '$.name'), json_extract_string(payload, '$.intelligence_type'), event_name)
        ELSE event_name
    END AS hook_name,
    CASE
        WHEN event_kind = 'hook_execution' THEN json_extract_string(payload, '$.hook_event')
        WHEN event_kind = 'intelligence' THEN json_extract_string(payload, '$.hook_event')
        ELSE event_name
    END AS hook_event,
    CASE event_kind WHEN 'hook_execution' THEN 'wrapped' WHEN 'intelligence' THEN 'intelligence' ELSE 'capture' END AS hook_type,
    CASE WHEN event_kind = 'intelligence'
         THEN coalesce(json_extract_string(payload, '$.intelligence_type'), json_extract_string(payload, '$.type')) END AS intelligence_type,
    tool_name,
    tool_use_id,
    event_time AS started_at,
    duration_ms,
    CASE
        WHEN event_kind = 'hook_execution' AND coalesce(TRY_CAST(json_extract_string(payload, '$.timed_out') AS BOOLEAN), false) THEN 'timeout'
        WHEN event_kind = 'intelligence' AND NOT coalesce(TRY_CAST(json_extract_string(payload, '$.passed') AS BOOLEAN), true) THEN 'error'
        WHEN event_kind IN ('hook_execution', 'intelligence') THEN coalesce(status, 'ok')
        ELSE 'ok'
    END AS status,
    CASE WHEN event_kind = 'hook_execution' THEN TRY_CAST(json_extract_string(payload, '$.exit_code') AS INTEGER) END AS exit_code,
    CASE WHEN event_kind = 'hook_execution' THEN json_extract_string(payload, '$.decision') END AS decision,
    CASE WHEN event_kind = 'hook_execution' THEN coalesce(TRY_CAST(json_extract_string(payload, '$.timed_out') AS BOOLEAN), false) END AS timed_out,
    CASE WHEN event_kind IN ('hook_execution', 'intelligence')
         THEN coalesce(error_message, json_extract_string(payload, '$.error')) END AS error_message,
    CASE WHEN event_kind IN ('hook_execution', 'intelligence') THEN json_extract_string(payload, '$.error_type') END AS error_type,
    CASE WHEN event_kind = 'hook_execution' THEN coalesce(json_array_length(payload, '$.intelligence_functions'), 0) END AS intelligence_functions,
    CASE WHEN event_kind = 'hook_execution' THEN coalesce(json_array_length(payload, '$.rag_queries'), 0) END AS rag_queries,
    CASE WHEN event_kind = 'hook_execution' THEN coalesce(json_array_length(payload, '$.quality_gates'), 0) END AS quality_gates,
    CASE
        WHEN event_kind = 'hook_execution' AND payload LIKE '%"quality_gates"%'
            THEN len(list_filter(
                from_json(json_extract(payload, '$.quality_gates'), '["JSON"]'),
                lambda g: NOT coalesce(TRY_CAST(json_extract_string(g, '$.passed') AS BOOLEAN), true)))
        WHEN event_kind = 'intelligence'
             AND coalesce(json_extract_string(payload, '$.intelligence_type'), '') = 'quality_gate'
             AND (status IN ('error', 'failed') OR NOT coalesce(TRY_CAST(json_extract_string(payload, '$.passed') AS BOOLEAN), true))
            THEN 1
        WHEN event_kind IN ('hook_execution', 'intelligence') THEN 0
    END AS quality_gates_failed,
    source,
    host
FROM trace_events
WHERE (source = 'claude_code' AND event_kind NOT IN ('hook_execution', 'intelligence', 'feedback'))
   OR event_kind IN ('hook_execution', 'intelligence');
