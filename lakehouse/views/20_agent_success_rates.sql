-- agent_success_rates: the seed's agent_success_rates, per agent over execution_traces.
-- agent_name is the subagent type for subagent runs and 'main' for the main conversation (Claude
-- Code's own agent); traces of routers that log decisions are counted under the agent they chose in
-- agent_routing_decisions, not here.
--
-- agent_name             Subagent type, or 'main'.
-- total_executions       Traces (runs) of that agent.
-- successful_executions  success = true.
-- failed_executions      success = false and status not in_progress.
-- in_progress            Still running.
-- success_rate           successful / finished runs (NULL when none finished).
-- avg_success_score      Mean success_score.
-- avg_duration_ms, p95_duration_ms, max_duration_ms   Run durations.
-- avg_tool_calls         Mean tool calls per run.
-- tool_failures          Failed tool calls in those runs.
-- last_execution_at      Latest start.
CREATE OR REPLACE VIEW agent_success_rates AS
SELECT
    CASE WHEN is_subagent THEN coalesce(nullif(agent_type, ''), 'general-purpose') ELSE 'main' END AS agent_name,
    count(*) AS total_executions,
    count(*) FILTER (WHERE success) AS successful_executions,
    count(*) FILTER (WHERE NOT success AND status <> 'in_progress') AS failed_executions,
    count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
    round(count(*) FILTER (WHERE success) / nullif(count(*) FILTER (WHERE status <> 'in_progress'), 0), 4) AS success_rate,
    round(avg(success_score), 4) AS avg_success_score,
    round(avg(duration_ms), 1) AS avg_duration_ms,
    round(quantile_cont(duration_ms, 0.95), 1) AS p95_duration_ms,
    max(duration_ms) AS max_duration_ms,
    round(avg(tool_calls), 2) AS avg_tool_calls,
    sum(tool_failures) AS tool_failures,
    max(started_at) AS last_execution_at
FROM execution_traces
GROUP BY 1;
