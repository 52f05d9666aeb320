-- trace_facts: one row per trace with every fact that does not depend on the clock or on settings.
-- Materialised by the rollup; execution_traces adds status, the success criteria and the score.
--
-- A trace is a trace_id (see trace_events) with at least one event other than SessionStart,
-- SessionEnd and feedback. Main traces are user prompts; child traces are subagent runs.
--
-- session_key            See trace_events.
-- correlation_id         The trace id (prompt_id / derived id; the agent_id for a subagent run).
-- event_correlation_id   correlation_id of the trace's events in the lake (for subagents: the prompt's).
-- session_id             Claude Code session (NULL for traces seen only through the SDK).
-- source                 Producer of the trace's first event (claude_code, sdk, transcript, ...).
-- host                   Machine of the trace's first event.
-- prompt_text            The user prompt; for a subagent, the prompt its Agent call gave it.
-- started_at             First event (UserPromptSubmit / SubagentStart).
-- last_event_at          Last event of the trace.
-- completed_at           Stop / StopFailure / SubagentStop time; NULL if none came.
-- has_stop               A Stop (main) or SubagentStop (child) arrived.
-- has_stop_failure       A StopFailure arrived (the turn ended on an API error).
-- stop_error             Its error text.
-- moved_on               The session went on without this trace's Stop: a SessionEnd after the
--                        trace started, or (not for background subagents) a later user prompt.
-- is_sdk_only            No Claude Code hook event: a trace known only from SDK/wrapper events.
-- cwd, permission_mode, model, transcript_path   First value seen in the trace.
-- agent_id, agent_type   The subagent (child traces only).
-- is_subagent            Child trace of a subagent run.
-- parent_id              Child: the trace that made the Agent/Task call (see subagent_links).
-- parent_tool_use_id     Child: that call's tool_use_id.
-- root_id                Main-conversation trace at the top (itself for main traces), or the root
--                        an SDK producer sent (X-Root-ID).
-- depth                  0 for main traces, 1.. for subagents.
-- run_in_background      Child started with run_in_background.
-- link_rule              How the child was linked (see subagent_links).
-- tool_calls, tool_failures, tool_interrupts   Calls made by this trace (not its children), failed
--                        calls (not interrupts), calls interrupted by the user.
-- tool_sequence          Tool names in call order.
-- hook_sequence          Claude Code hook event names in order (as captured by the hook).
-- agents                 Subagent types this trace delegated to, in call order.
-- subagents              Number of Agent/Task calls.
-- endpoints              'service/endpoint' of MCP tool calls and SDK endpoint calls, in order.
-- endpoint_calls, endpoint_errors   Counts of those.
-- hook_runs, hook_failures, hook_max_duration_ms   Wrapped user hooks (hook_execution events):
--                        runs, failures (status error / timeout, or an exit code other than 0 and 2),
--                        slowest run.
-- intelligence_calls, intelligence_failures   intelligence events that are not quality gates.
-- quality_gates, quality_gate_failures        intelligence events of type quality_gate.
-- sdk_errors             Other SDK events with status error.
-- timeout_errors         Errors whose text says time out / timed out / deadline exceeded.
-- error_message          StopFailure text, else the last failed tool/endpoint/hook error.
-- error_type             stop_failure / timeout / tool_error / endpoint_error / hook_error / NULL.
-- input_tokens, output_tokens, cost_usd   Sums where the source reports them (transcripts, OTLP).
-- feedback_verdict       Latest explicit verdict (good / bad) from `hooklake feedback`.
-- feedback_note          Its note.
-- feedback_at            When it was given.
-- triggered_by_correlation_id   For a prompt that is a background task's completion
--                        (<task-notification> naming a tool-use-id): the trace that made that call.
-- triggered_by_tool_use_id      That Agent call's tool_use_id.
-- child_traces           Subagent runs this trace started (their correlation ids, in start order).
-- background_completions Prompts that reported the completion of a background run this trace started.
-- routing_decisions      Logged routing decisions for this trace.
-- http_calls             SDK endpoint calls (HTTP) correlated to this trace.
-- context                JSON text: host, cwd, permission_mode, model, transcript_path.
-- tags                   host:, mode:, model:, subagent, background, task-notification labels.
CREATE OR REPLACE VIEW trace_facts AS
WITH ev AS (
    SELECT
        trace_id, session_key, correlation_id, session_id, source, host, event_kind, event_name,
        event_time, captured_at, event_id, prompt_text, cwd, permission_mode, model, transcript_path,
        in_subagent, agent_id, agent_type, root_id, status, error_message, duration_ms, mcp_server,
        mcp_tool, input_tokens, output_tokens, cost_usd,
        CASE WHEN event_kind = 'stop_failure'
             THEN coalesce(error_message, json_extract_string(payload, '$.error')) END AS stop_error,
        CASE WHEN event_kind = 'hook_execution' THEN (
            status IN ('error', 'timeout')
            OR coalesce(TRY_CAST(json_extract_string(payload, '$.exit_code') AS INTEGER), 0) NOT IN (0, 2)
            OR coalesce(TRY_CAST(json_extract_string(payload, '$.timed_out') AS BOOLEAN), false)) END AS hook_failed,
        CASE WHEN event_kind = 'hook_execution' AND status IN ('error', 'timeout')
             THEN coalesce(error_message, 'hook ' || coalesce(json_extract_string(payload, '$.hook_name'), event_name) || ' failed') END AS hook_error,
        CASE WHEN event_kind = 'intelligence'
             THEN coalesce(json_extract_string(payload, '$.intelligence_type'), json_extract_string(payload, '$.type'), '') END AS intel_type,
        CASE WHEN event_kind = 'intelligence'
             THEN status IN ('error', 'failed', 'timeout')
                  OR NOT coalesce(TRY_CAST(json_extract_string(payload, '$.passed') AS BOOLEAN), true) END AS intel_failed,
        CASE WHEN event_kind IN ('hook_execution', 'intelligence') AND error_message IS NOT NULL
             THEN regexp_matches(error_message, '(?i)time[sd]? ?out|timed out|deadline exceeded') END AS is_timeout_error,
        CASE WHEN event_kind = 'feedback'
             THEN lower(coalesce(json_extract_string(payload, '$.verdict'), status)) END AS verdict,
        CASE WHEN event_kind = 'feedback' THEN json_extract_string(payload, '$.note') END AS note,
        CASE WHEN event_kind = 'endpoint_call' THEN coalesce(mcp_server, json_extract_string(payload, '$.service')) END AS ep_service,
        CASE WHEN event_kind = 'endpoint_call' THEN coalesce(mcp_tool, json_extract_string(payload, '$.endpoint')) END AS ep_endpoint
    FROM trace_events
    WHERE trace_id IS NOT NULL
),
kept AS (
    SELECT trace_id FROM ev
    WHERE event_kind NOT IN ('session_start', 'session_end', 'feedback')
    GROUP BY trace_id
),
per_trace AS (
    SELECT
        ev.trace_id,
        max(ev.session_key) AS session_key,
        min(ev.correlation_id) AS event_correlation_id,
        max(ev.session_id) AS session_id,
        arg_min(ev.source, ev.event_time) FILTER (WHERE ev.event_kind <> 'feedback') AS source,
        arg_min(ev.host, ev.event_time) FILTER (WHERE ev.event_kind <> 'feedback') AS host,
        arg_min(ev.prompt_text, ev.event_time) FILTER (WHERE ev.event_kind = 'prompt') AS prompt_text,
        coalesce(min(ev.event_time) FILTER (WHERE ev.event_kind NOT IN ('feedback', 'session_start', 'session_end')),
                 min(ev.event_time)) AS started_at,
        coalesce(max(ev.event_time) FILTER (WHERE ev.event_kind NOT IN ('feedback', 'session_start', 'session_end')),
                 max(ev.event_time)) AS last_event_at,
        max(ev.event_time) FILTER (WHERE ev.event_kind IN ('stop', 'stop_failure', 'subagent_stop')) AS completed_at,
        bool_or(ev.event_kind IN ('stop', 'subagent_stop')) AS has_stop,
        bool_or(ev.event_kind = 'stop_failure') AS has_stop_failure,
        arg_max(ev.stop_error, ev.event_time) FILTER (WHERE ev.event_kind = 'stop_failure') AS stop_error,
        NOT bool_or(ev.source = 'claude_code') AS is_sdk_only,
        arg_min(ev.cwd, ev.event_time) FILTER (WHERE ev.cwd IS NOT NULL) AS cwd,
        arg_min(ev.permission_mode, ev.event_time) FILTER (WHERE ev.permission_mode IS NOT NULL) AS permission_mode,
        arg_min(ev.model, ev.event_time) FILTER (WHERE ev.model IS NOT NULL) AS model,
        arg_min(ev.transcript_path, ev.event_time) FILTER (WHERE ev.transcript_path IS NOT NULL) AS transcript_path,
        bool_or(ev.in_subagent) AS is_subagent,
        max(nullif(ev.agent_id, '')) AS agent_id,
        max(nullif(ev.agent_type, '')) AS agent_type,
        min(ev.root_id) FILTER (WHERE ev.root_id IS DISTINCT FROM ev.correlation_id) AS sdk_root_id,
        list(ev.event_name ORDER BY ev.event_time, ev.captured_at, ev.event_id)
            FILTER (WHERE ev.source = 'claude_code') AS hook_sequence,
        count(*) FILTER (WHERE ev.event_kind = 'hook_execution') AS hook_runs,
        count(*) FILTER (WHERE ev.hook_failed) AS hook_failures,
        max(ev.duration_ms) FILTER (WHERE ev.event_kind = 'hook_execution') AS hook_max_duration_ms,
        arg_max(ev.hook_error, ev.event_time) FILTER (WHERE ev.hook_error IS NOT NULL) AS hook_error,
        count(*) FILTER (WHERE ev.intel_type <> 'quality_gate') AS intelligence_calls,
        count(*) FILTER (WHERE ev.intel_type <> 'quality_gate' AND ev.status IN ('error', 'timeout')) AS intelligence_failures,
        count(*) FILTER (WHERE ev.intel_type = 'quality_gate') AS quality_gates,
        count(*) FILTER (WHERE ev.intel_type = 'quality_gate' AND ev.intel_failed) AS quality_gate_failures,
        count(*) FILTER (WHERE ev.event_kind IN ('custom', 'routing_decision', 'api_response', 'advice')
            AND ev.status = 'error') AS sdk_errors,
        count(*) FILTER (WHERE ev.event_kind = 'routing_decision') AS routing_decisions,
        count(*) FILTER (WHERE ev.event_kind = 'endpoint_call') AS http_calls,
        count(*) FILTER (WHERE ev.is_timeout_error) AS hook_timeout_errors,
        sum(ev.input_tokens) AS input_tokens,
        sum(ev.output_tokens) AS output_tokens,
        sum(ev.cost_usd) AS cost_usd,
        arg_max(ev.verdict, ev.event_time) FILTER (WHERE ev.event_kind = 'feedback') AS feedback_verdict,
        arg_max(ev.note, ev.event_time) FILTER (WHERE ev.event_kind = 'feedback') AS feedback_note,
        max(ev.event_time) FILTER (WHERE ev.event_kind = 'feedback') AS feedback_at,
        regexp_extract(arg_min(ev.prompt_text, ev.event_time) FILTER (WHERE ev.event_kind = 'prompt'),
            '<tool-use-id>\s*([^<\s]+)', 1) AS notified_tool_use_id
    FROM ev SEMI JOIN kept ON kept.trace_id = ev.trace_id
    GROUP BY ev.trace_id
),
tools AS (
    SELECT
        correlation_id,
        count(*) AS tool_calls,
        count(*) FILTER (WHERE end_status = 'error') AS tool_failures,
        count(*) FILTER (WHERE end_status = 'interrupted') AS tool_interrupts,
        list(tool_name ORDER BY started_at, start_event_id) AS tool_sequence,
        list(subagent_type ORDER BY started_at, start_event_id) FILTER (WHERE tool_name IN ('Agent', 'Task')) AS agents,
        count(*) FILTER (WHERE tool_name IN ('Agent', 'Task')) AS subagents,
        count(*) FILTER (WHERE regexp_matches(coalesce(error_message, ''), '(?i)time[sd]? ?out|timed out|deadline exceeded')) AS tool_timeout_errors,
        arg_max(error_message, ended_at) FILTER (WHERE end_status = 'error') AS last_tool_error
    FROM tool_calls_base
    GROUP BY correlation_id
),
endpoint_rows AS (
    SELECT correlation_id, started_at, mcp_server AS service, mcp_tool AS endpoint,
           end_status AS status, error_message
    FROM tool_calls_base WHERE mcp_server IS NOT NULL
    UNION ALL
    SELECT trace_id, event_time, ep_service, ep_endpoint, status, error_message
    FROM ev WHERE event_kind = 'endpoint_call'
),
endpoints AS (
    SELECT
        correlation_id,
        list(coalesce(service, '?') || '/' || coalesce(endpoint, '?') ORDER BY started_at) AS endpoints,
        count(*) AS endpoint_calls,
        count(*) FILTER (WHERE status IN ('error', 'timeout')) AS endpoint_errors,
        count(*) FILTER (WHERE status = 'timeout'
            OR regexp_matches(coalesce(error_message, ''), '(?i)time[sd]? ?out|timed out|deadline exceeded')) AS endpoint_timeout_errors,
        arg_max(error_message, started_at) FILTER (WHERE status IN ('error', 'timeout')) AS last_endpoint_error
    FROM endpoint_rows
    GROUP BY correlation_id
),
session_marks AS (
    SELECT session_key,
        list(event_time ORDER BY event_time) FILTER (WHERE event_kind = 'prompt') AS prompt_times,
        max(event_time) FILTER (WHERE event_kind = 'session_end') AS last_end_at
    FROM ev
    WHERE event_kind IN ('prompt', 'session_end')
    GROUP BY session_key
),
children AS (
    SELECT parent_correlation_id, list(agent_id ORDER BY first_at, agent_id) AS child_traces
    FROM subagent_links GROUP BY parent_correlation_id
),
notified AS (
    SELECT p.trace_id, c.correlation_id AS triggered_by_correlation_id, c.tool_use_id AS triggered_by_tool_use_id
    FROM per_trace p JOIN tool_calls_base c
        ON c.session_key = p.session_key AND c.tool_use_id = p.notified_tool_use_id
    WHERE p.notified_tool_use_id IS NOT NULL AND p.notified_tool_use_id <> ''
    QUALIFY row_number() OVER (PARTITION BY p.trace_id ORDER BY c.started_at) = 1
),
completions AS (
    SELECT triggered_by_correlation_id, list(trace_id ORDER BY trace_id) AS background_completions
    FROM notified GROUP BY triggered_by_correlation_id
)
SELECT
    p.session_key,
    p.trace_id AS correlation_id,
    p.event_correlation_id,
    p.session_id,
    p.source,
    p.host,
    coalesce(p.prompt_text, l.call_prompt) AS prompt_text,
    p.started_at,
    p.last_event_at,
    p.completed_at,
    coalesce(p.has_stop, false) AS has_stop,
    coalesce(p.has_stop_failure, false) AS has_stop_failure,
    p.stop_error,
    (sm.last_end_at > p.started_at
        OR (NOT coalesce(l.run_in_background, false)
            AND len(list_filter(sm.prompt_times, lambda x: x > p.started_at)) > 0)) IS TRUE AS moved_on,
    p.is_sdk_only,
    p.cwd, p.permission_mode, p.model, p.transcript_path,
    CASE WHEN p.is_subagent THEN p.agent_id END AS agent_id,
    CASE WHEN p.is_subagent THEN coalesce(p.agent_type, l.agent_type) END AS agent_type,
    p.is_subagent,
    l.parent_correlation_id AS parent_id,
    l.parent_tool_use_id,
    coalesce(l.root_id, p.sdk_root_id, p.trace_id) AS root_id,
    coalesce(l.depth, 0) AS depth,
    coalesce(l.run_in_background, false) AS run_in_background,
    l.link_rule,
    coalesce(t.tool_calls, 0) AS tool_calls,
    coalesce(t.tool_failures, 0) AS tool_failures,
    coalesce(t.tool_interrupts, 0) AS tool_interrupts,
    coalesce(t.tool_sequence, []::VARCHAR[]) AS tool_sequence,
    coalesce(p.hook_sequence, []::VARCHAR[]) AS hook_sequence,
    coalesce(t.agents, []::VARCHAR[]) AS agents,
    coalesce(t.subagents, 0) AS subagents,
    coalesce(en.endpoints, []::VARCHAR[]) AS endpoints,
    coalesce(en.endpoint_calls, 0) AS endpoint_calls,
    coalesce(en.endpoint_errors, 0) AS endpoint_errors,
    p.hook_runs, p.hook_failures, p.hook_max_duration_ms,
    p.intelligence_calls, p.intelligence_failures, p.quality_gates, p.quality_gate_failures,
    p.sdk_errors,
    coalesce(t.tool_timeout_errors, 0) + coalesce(en.endpoint_timeout_errors, 0) + p.hook_timeout_errors
        + CASE WHEN regexp_matches(coalesce(p.stop_error, ''), '(?i)time[sd]? ?out|timed out|deadline exceeded') THEN 1 ELSE 0 END
        AS timeout_errors,
    coalesce(p.stop_error, t.last_tool_error, en.last_endpoint_error, p.hook_error) AS error_message,
    CASE
        WHEN p.has_stop_failure THEN 'stop_failure'
        WHEN coalesce(t.tool_timeout_errors, 0) + coalesce(en.endpoint_timeout_errors, 0) + p.hook_timeout_errors > 0 THEN 'timeout'
        WHEN t.last_tool_error IS NOT NULL THEN 'tool_error'
        WHEN en.last_endpoint_error IS NOT NULL OR coalesce(en.endpoint_errors, 0) > 0 THEN 'endpoint_error'
        WHEN p.hook_failures > 0 THEN 'hook_error'
    END AS error_type,
    p.input_tokens, p.output_tokens, p.cost_usd,
    CASE WHEN p.feedback_verdict IN ('good', 'bad') THEN p.feedback_verdict END AS feedback_verdict,
    p.feedback_note,
    p.feedback_at,
    n.triggered_by_correlation_id,
    n.triggered_by_tool_use_id,
    coalesce(ch.child_traces, []::VARCHAR[]) AS child_traces,
    coalesce(cp.background_completions, []::VARCHAR[]) AS background_completions,
    p.routing_decisions,
    p.http_calls,
    to_json({
        'host': p.host, 'cwd': p.cwd, 'permission_mode': p.permission_mode, 'model': p.model,
        'transcript_path': p.transcript_path
    })::VARCHAR AS context,
    list_filter([
        'host:' || p.host,
        'mode:' || p.permission_mode,
        'model:' || p.model,
        CASE WHEN p.is_subagent THEN 'subagent' END,
        CASE WHEN l.run_in_background THEN 'background' END,
        CASE WHEN n.trace_id IS NOT NULL THEN 'task-notification' END
    ], lambda x: x IS NOT NULL) AS tags
FROM per_trace p
LEFT JOIN subagent_links l ON p.is_subagent AND l.agent_id = p.trace_id
LEFT JOIN tools t ON t.correlation_id = p.trace_id
LEFT JOIN endpoints en ON en.correlation_id = p.trace_id
LEFT JOIN session_marks sm ON sm.session_key = p.session_key
LEFT JOIN notified n ON n.trace_id = p.trace_id
LEFT JOIN children ch ON ch.parent_correlation_id = p.trace_id
LEFT JOIN completions cp ON cp.triggered_by_correlation_id = p.trace_id;
