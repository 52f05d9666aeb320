-- hook_performance_summary: the seed's hook_performance_summary, per hook over hook_executions.
--
-- hook_name, hook_type, hook_event   See hook_executions.
-- executions             Rows.
-- successes              status ok.
-- failures               status error.
-- timeouts               status timeout.
-- blocked                Wrapped hooks that blocked or denied (decision block / deny, exit code 2).
-- success_rate           successes / executions.
-- avg_duration_ms, p95_duration_ms, max_duration_ms   Measured durations (wrapped hooks and
--                        reports only: Claude Code does not time its hooks, so NULL for capture rows).
-- intelligence_functions, rag_queries, quality_gates, quality_gates_failed   Reported by wrapped hooks.
-- last_executed_at       Latest row.
CREATE OR REPLACE VIEW hook_performance_summary AS
SELECT
    hook_name,
    hook_type,
    hook_event,
    count(*) AS executions,
    count(*) FILTER (WHERE status = 'ok') AS successes,
    count(*) FILTER (WHERE status = 'error') AS failures,
    count(*) FILTER (WHERE status = 'timeout') AS timeouts,
    count(*) FILTER (WHERE decision IN ('block', 'deny') OR exit_code = 2) AS blocked,
    round(count(*) FILTER (WHERE status = 'ok') / count(*), 4) AS success_rate,
    round(avg(duration_ms), 2) AS avg_duration_ms,
    round(quantile_cont(duration_ms, 0.95), 2) AS p95_duration_ms,
    max(duration_ms) AS max_duration_ms,
    sum(intelligence_functions) AS intelligence_functions,
    sum(rag_queries) AS rag_queries,
    sum(quality_gates) AS quality_gates,
    sum(quality_gates_failed) AS quality_gates_failed,
    max(started_at) AS last_executed_at
FROM hook_executions
GROUP BY hook_name, hook_type, hook_event;
