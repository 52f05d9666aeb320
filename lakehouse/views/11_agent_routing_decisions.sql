-- agent_routing_decisions: the seed's agent_routing_decisions.
--   * logged decisions (routing_logged): a router chose an agent, with confidence and alternatives;
--   * observed routing (routing_strategy 'observed'): for plain Claude Code sessions, one row per
--     trace that delegated to subagents: selected_agent is the first subagent type it called,
--     agents all of them in order. Claude Code reports no confidence or alternatives for its own
--     choice: confidence_score and alternatives are NULL there.
--
-- decision_id        event_id (logged) or 'observed:' || correlation_id.
-- correlation_id, session_id
-- user_request       The prompt (from the router, else the trace's prompt).
-- selected_agent, confidence_score, alternatives, reasoning, routing_strategy, routing_time_ms,
-- pattern_id, cache_hit, created_at: see routing_logged (created_at = trace start for observed).
-- agents             Observed: every subagent type the trace delegated to, in order; logged: [selected].
-- trace_success      success of the trace the decision was for (NULL if the trace is unknown).
-- trace_status       status of that trace.
CREATE OR REPLACE VIEW agent_routing_decisions AS
SELECT
    r.decision_id, r.correlation_id, r.session_id,
    coalesce(r.user_request, t.prompt_text) AS user_request,
    r.selected_agent, r.confidence_score, r.alternatives, r.reasoning, r.routing_strategy,
    r.routing_time_ms, r.pattern_id, r.cache_hit, r.created_at,
    [r.selected_agent] AS agents,
    t.success AS trace_success,
    t.status AS trace_status
FROM routing_logged r
LEFT JOIN execution_traces t ON t.correlation_id = r.correlation_id
UNION ALL
SELECT
    'observed:' || t.correlation_id, t.correlation_id, t.session_id, t.prompt_text,
    t.agents[1], NULL::DOUBLE, NULL::VARCHAR, NULL::VARCHAR, 'observed',
    NULL::DOUBLE, NULL::VARCHAR, false, t.started_at,
    t.agents, t.success, t.status
FROM execution_traces t
WHERE len(t.agents) > 0;
