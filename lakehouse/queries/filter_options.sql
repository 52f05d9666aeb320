-- Values offered by the sidebar filters: projects (cwd of root traces), the 500 most recent sessions
-- and the subagent types delegated to. Sessions come from the per-session facts (one small table),
-- agents from the subagent runs (the types a root trace's `agents` list is made of).
WITH projects AS (
    SELECT 'project' AS kind, cwd AS value, count(*) AS traces, max(started_at) AS last_seen
    FROM execution_traces
    WHERE NOT coalesce(is_subagent, false) AND cwd IS NOT NULL
    GROUP BY cwd
), sessions AS (
    SELECT 'session' AS kind, session_id AS value, events AS traces, last_event_at AS last_seen
    FROM session_facts
    WHERE session_id IS NOT NULL
    ORDER BY last_event_at DESC NULLS LAST
    LIMIT 500
), agents AS (
    SELECT 'agent' AS kind, agent_type AS value, count(*) AS traces, max(started_at) AS last_seen
    FROM execution_traces
    WHERE is_subagent AND agent_type IS NOT NULL AND agent_type <> ''
    GROUP BY agent_type
)
SELECT * FROM projects
UNION ALL SELECT * FROM sessions
UNION ALL SELECT * FROM agents
ORDER BY kind, last_seen DESC NULLS LAST
