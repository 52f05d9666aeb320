-- execution_traces: the seed's execution_traces, one row per trace (user prompt or subagent run),
-- with each success criterion as a column so a reader can see why a trace failed.
-- Thresholds come from [success] in config.toml (table lakehouse_settings).
--
-- correlation_id, root_id, parent_id, session_id, source, prompt_text, started_at, completed_at:
--     see trace_facts. parent_id is set for subagent runs (the trace that made the Agent call).
-- duration_ms        completed_at (else the last event) minus started_at.
-- status             How the run ended:
--                      error        a StopFailure (API error ended the turn); or, for an SDK-only
--                                   trace, an error event;
--                      timeout      the StopFailure / SDK error was a time-out;
--                      interrupted  the user interrupted a tool (is_interrupt), or there is no Stop
--                                   and the session moved on (later prompt, SessionEnd), or nothing
--                                   happened for in_progress_timeout_s;
--                      success      a Stop (SubagentStop for a subagent) arrived;
--                      in_progress  no Stop yet and recent.
-- completed                      Criterion: status = success (the run reached its end).
-- no_errors                      Criterion: no failed tool, endpoint or SDK event, no StopFailure.
-- hooks_succeeded                Criterion: every wrapped user hook succeeded (exit code 0 or 2).
-- quality_gates_passed           Criterion: every reported quality gate passed.
-- within_performance_thresholds  Criterion: duration_ms <= max_duration_ms.
-- no_timeouts                    Criterion: no time-out error and no hook slower than
--                                max_hook_duration_ms.
-- intelligence_gathered          Criterion: every reported intelligence function / RAG query
--                                succeeded (true when none was reported, as in the seed).
-- user_confirmation              Criterion: the user did not say 'bad' (feedback).
-- success_score      The seed's weights: completed 0.25, no_errors 0.25, hooks_succeeded 0.15,
--                    quality_gates_passed 0.15, within_performance_thresholds 0.10,
--                    intelligence_gathered 0.05, user_confirmation 0.05 (no_timeouts has weight 0
--                    in the seed but is required for success).
-- success            Explicit feedback when given (good = true, bad = false); otherwise completed
--                    AND no_timeouts AND success_score >= success_threshold.
-- success_source     'feedback' or 'inferred'.
-- error_message, error_type, context, tags, cwd, agent_id, agent_type, is_subagent, tool_calls,
-- tool_failures, subagents, agents, tool_sequence, hook_sequence, endpoints, input_tokens,
-- output_tokens, cost_usd, depth, parent_tool_use_id, run_in_background, feedback_*,
-- triggered_by_*: see trace_facts.
-- (Written as three thin layers, each computing a few columns from the one below: keeps the
-- plan small so a filter on correlation_id / root_id reaches the trace_facts scan and its indexes.)
CREATE OR REPLACE VIEW execution_traces AS
SELECT
    correlation_id, root_id, parent_id, session_id, source, prompt_text, started_at, completed_at,
    duration_ms, status,
    CASE feedback_verdict
        WHEN 'good' THEN true
        WHEN 'bad' THEN false
        ELSE completed AND no_timeouts AND success_score >= success_threshold
    END AS success,
    success_score,
    error_message, error_type, context, tags, cwd, agent_id, agent_type, is_subagent,
    tool_calls, tool_failures, subagents, agents, tool_sequence, hook_sequence, endpoints,
    input_tokens, output_tokens, cost_usd,
    completed, no_errors, hooks_succeeded, quality_gates_passed, within_performance_thresholds,
    no_timeouts, intelligence_gathered, user_confirmation,
    CASE WHEN feedback_verdict IS NULL THEN 'inferred' ELSE 'feedback' END AS success_source,
    feedback_verdict, feedback_note,
    host, model, permission_mode, transcript_path, last_event_at, depth, parent_tool_use_id,
    run_in_background, link_rule, tool_interrupts, endpoint_calls, endpoint_errors, hook_runs,
    hook_failures, intelligence_calls, quality_gates, timeout_errors,
    triggered_by_correlation_id, triggered_by_tool_use_id, event_correlation_id, session_key
FROM (
    SELECT *,
        round(0.25 * completed::INT + 0.25 * no_errors::INT + 0.15 * hooks_succeeded::INT
            + 0.15 * quality_gates_passed::INT + 0.10 * within_performance_thresholds::INT
            + 0.05 * intelligence_gathered::INT + 0.05 * user_confirmation::INT, 4)::DOUBLE AS success_score
    FROM (
        SELECT *,
            (status = 'success') AS completed,
            (tool_failures = 0 AND endpoint_errors = 0 AND sdk_errors = 0 AND NOT has_stop_failure) AS no_errors,
            (hook_failures = 0) AS hooks_succeeded,
            (quality_gate_failures = 0) AS quality_gates_passed,
            (duration_ms IS NULL OR duration_ms <= max_duration_ms) AS within_performance_thresholds,
            (timeout_errors = 0 AND status <> 'timeout'
                AND coalesce(hook_max_duration_ms, 0) <= max_hook_duration_ms) AS no_timeouts,
            (intelligence_failures = 0) AS intelligence_gathered,
            (feedback_verdict IS DISTINCT FROM 'bad') AS user_confirmation
        FROM (
            SELECT f.*, s.max_duration_ms, s.max_hook_duration_ms, s.success_threshold,
                date_diff('microsecond', f.started_at, coalesce(f.completed_at, f.last_event_at)) / 1000.0 AS duration_ms,
                CASE
                    WHEN f.has_stop_failure THEN
                        CASE WHEN regexp_matches(coalesce(f.stop_error, ''), '(?i)time[sd]? ?out|timed out|deadline exceeded')
                             THEN 'timeout' ELSE 'error' END
                    WHEN f.tool_interrupts > 0 THEN 'interrupted'
                    WHEN f.has_stop THEN 'success'
                    WHEN f.is_sdk_only THEN
                        CASE WHEN f.timeout_errors > 0 THEN 'timeout'
                             WHEN f.endpoint_errors + f.sdk_errors + f.hook_failures > 0 THEN 'error'
                             ELSE 'success' END
                    WHEN f.moved_on THEN 'interrupted'
                    WHEN f.last_event_at < now() - to_seconds(s.in_progress_timeout_s) THEN 'interrupted'
                    ELSE 'in_progress'
                END AS status
            FROM trace_facts f
            CROSS JOIN lakehouse_settings s
        )
    )
);
