-- endpoint_reliability: the seed's endpoint_reliability, per service endpoint over endpoint_calls.
--
-- service, endpoint, kind   See endpoint_calls.
-- total_calls            Calls.
-- successful_calls       status ok.
-- failed_calls           status error / timeout.
-- timeouts               error_type timeout.
-- success_rate           successful / finished calls.
-- avg_duration_ms, p50_duration_ms, p95_duration_ms, max_duration_ms
-- total_retries, avg_retries   Retries reported by the SDK (always 0 for MCP).
-- last_error             Most recent error message.
-- last_called_at         Latest call.
CREATE OR REPLACE VIEW endpoint_reliability AS
SELECT
    service,
    endpoint,
    kind,
    count(*) AS total_calls,
    count(*) FILTER (WHERE status = 'ok') AS successful_calls,
    count(*) FILTER (WHERE status IN ('error', 'timeout')) AS failed_calls,
    count(*) FILTER (WHERE error_type = 'timeout' OR status = 'timeout') AS timeouts,
    round(count(*) FILTER (WHERE status = 'ok') / nullif(count(*) FILTER (WHERE status IS NOT NULL), 0), 4) AS success_rate,
    round(avg(duration_ms), 2) AS avg_duration_ms,
    round(quantile_cont(duration_ms, 0.5), 2) AS p50_duration_ms,
    round(quantile_cont(duration_ms, 0.95), 2) AS p95_duration_ms,
    max(duration_ms) AS max_duration_ms,
    sum(retries) AS total_retries,
    round(avg(retries), 3) AS avg_retries,
    arg_max(error_message, started_at) FILTER (WHERE status IN ('error', 'timeout')) AS last_error,
    max(started_at) AS last_called_at
FROM endpoint_calls
GROUP BY service, endpoint, kind;
