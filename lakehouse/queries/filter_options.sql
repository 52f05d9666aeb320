-- Values offered by the sidebar filters: projects (cwd), sessions (most recent first) and agent types.
WITH t AS (
    SELECT session_id, cwd, agents, started_at
    FROM execution_traces
    WHERE NOT coalesce(is_subagent, false)
)
SELECT 'project' AS kind, cwd AS value, count(*) AS traces, max(started_at) AS last_seen
FROM t WHERE cwd IS NOT NULL GROUP BY cwd
UNION ALL
SELECT 'session', session_id, count(*), max(started_at)
FROM t WHERE session_id IS NOT NULL GROUP BY session_id
UNION ALL
SELECT 'agent', agent, count(*), max(started_at)
FROM (SELECT unnest(agents) AS agent, started_at FROM t) WHERE agent IS NOT NULL AND agent <> '' GROUP BY agent
ORDER BY kind, last_seen DESC
