-- subagent_runs: one row per subagent run (child trace).
--
-- correlation_id          The child trace id (= agent_id).
-- parent_correlation_id   The trace whose Agent/Task call started it (see subagent_links for the rule).
-- parent_tool_use_id      That call's tool_use_id (NULL when no call could be found).
-- agent_id, agent_type    The subagent.
-- session_id              Claude Code session.
-- started_at, ended_at    SubagentStart and SubagentStop (ended_at NULL while running).
-- duration_ms, status, success, success_score   As in execution_traces.
-- depth                   1 = started by the main conversation, 2 = by a subagent, ...
-- root_id                 The main-conversation trace at the top.
-- run_in_background       Started with run_in_background.
-- prompt_text             The prompt the Agent call gave the subagent.
-- tool_calls, tool_failures, tool_sequence   Calls the subagent itself made.
-- link_rule               response / tool_use_id / order / correlation (see subagent_links).
CREATE OR REPLACE VIEW subagent_runs AS
SELECT
    correlation_id,
    parent_id AS parent_correlation_id,
    parent_tool_use_id,
    agent_id,
    agent_type,
    session_id,
    started_at,
    completed_at AS ended_at,
    duration_ms,
    status,
    success,
    success_score,
    depth,
    root_id,
    run_in_background,
    prompt_text,
    tool_calls,
    tool_failures,
    tool_sequence,
    link_rule,
    session_key
FROM execution_traces
WHERE is_subagent;
