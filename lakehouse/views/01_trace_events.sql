-- trace_events: every event with the trace it belongs to.
--
-- trace_id     The trace (correlation id as shown in every view). Events fired inside a subagent
--              (non-empty agent_id, including its SubagentStart/SubagentStop) belong to the child
--              trace whose id is the agent_id; every other event belongs to its correlation_id
--              (prompt_id, or the id ingest derived from session order for old versions).
-- in_subagent  True for events of a child (subagent) trace.
-- session_key  The session the event's trace belongs to: session_id, else the session of another
--              event with the same correlation_id (an SDK event carrying only X-Correlation-ID),
--              else the correlation_id, else ''. Incremental rollups recompute whole session_keys.
CREATE OR REPLACE VIEW trace_events AS
WITH orphan_cids AS (
    SELECT DISTINCT correlation_id FROM events WHERE session_id IS NULL AND correlation_id IS NOT NULL
),
corr_sessions AS (
    SELECT e.correlation_id, max(e.session_id) AS session_id
    FROM events e SEMI JOIN orphan_cids o ON o.correlation_id = e.correlation_id
    WHERE e.session_id IS NOT NULL
    GROUP BY e.correlation_id
)
SELECT
    e.*,
    CASE WHEN e.agent_id IS NOT NULL AND e.agent_id <> '' THEN e.agent_id ELSE e.correlation_id END AS trace_id,
    (e.agent_id IS NOT NULL AND e.agent_id <> '') AS in_subagent,
    coalesce(e.session_id, cs.session_id, e.correlation_id, '') AS session_key
FROM events e
LEFT JOIN corr_sessions cs ON e.session_id IS NULL AND cs.correlation_id = e.correlation_id;
