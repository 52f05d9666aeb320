-- session_summary: one row per session.
--
-- session_id             Claude Code session (the correlation id for SDK-only groups).
-- started_at, last_event_at, ended_at, end_reason, start_source, hosts, cwd, transcript_path,
-- events: see session_facts.
-- duration_ms            last_event_at - started_at.
-- status                 ended (a SessionEnd and nothing after it) / active.
-- traces                 User prompts (main traces).
-- subagent_runs          Child traces.
-- successful_traces      Main traces with success = true.
-- success_rate           successful / finished main traces.
-- avg_success_score      Mean over main traces.
-- tool_calls, tool_failures   Over all traces of the session.
-- agents                 Distinct subagent types used.
-- first_prompt           The first user prompt.
-- input_tokens, output_tokens, cost_usd   Sums where reported.
CREATE OR REPLACE VIEW session_summary AS
WITH t AS (
    SELECT
        session_key,
        count(*) FILTER (WHERE NOT is_subagent) AS traces,
        count(*) FILTER (WHERE is_subagent) AS subagent_runs,
        count(*) FILTER (WHERE NOT is_subagent AND success) AS successful_traces,
        count(*) FILTER (WHERE NOT is_subagent AND status <> 'in_progress') AS finished_traces,
        avg(success_score) FILTER (WHERE NOT is_subagent) AS avg_success_score,
        sum(tool_calls) AS tool_calls,
        sum(tool_failures) AS tool_failures,
        list(DISTINCT agent_type ORDER BY agent_type) FILTER (WHERE is_subagent AND agent_type IS NOT NULL) AS agents,
        arg_min(prompt_text, started_at) FILTER (WHERE NOT is_subagent AND prompt_text IS NOT NULL) AS first_prompt,
        sum(input_tokens) AS input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(cost_usd) AS cost_usd
    FROM execution_traces
    GROUP BY session_key
)
SELECT
    coalesce(s.session_id, s.session_key) AS session_id,
    s.first_event_at AS started_at,
    s.last_event_at,
    s.ended_at,
    date_diff('microsecond', s.first_event_at, s.last_event_at) / 1000.0 AS duration_ms,
    CASE WHEN s.ended_at IS NOT NULL AND s.ended_at >= s.last_event_at THEN 'ended' ELSE 'active' END AS status,
    s.end_reason, s.start_source, s.hosts, s.cwd, s.transcript_path, s.events,
    coalesce(t.traces, 0) AS traces,
    coalesce(t.subagent_runs, 0) AS subagent_runs,
    coalesce(t.successful_traces, 0) AS successful_traces,
    round(t.successful_traces / nullif(t.finished_traces, 0), 4) AS success_rate,
    round(t.avg_success_score, 4) AS avg_success_score,
    coalesce(t.tool_calls, 0) AS tool_calls,
    coalesce(t.tool_failures, 0) AS tool_failures,
    coalesce(t.agents, []::VARCHAR[]) AS agents,
    t.first_prompt,
    t.input_tokens, t.output_tokens, t.cost_usd,
    s.session_key
FROM session_facts s
LEFT JOIN t ON t.session_key = s.session_key;
