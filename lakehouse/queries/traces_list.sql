-- The Traces page table: root traces matching the filters and a free-text search, newest first.
-- $search matches the prompt, the correlation id, the session id and the error message (case-insensitive).
-- $status: NULL for all, else one status value.
SELECT
    correlation_id,
    started_at,
    prompt_text,
    status,
    success,
    success_score,
    duration_ms,
    tool_calls,
    tool_failures,
    subagents,
    array_to_string(agents, ' > ')      AS agents,
    cwd,
    session_id,
    error_message
FROM execution_traces
WHERE NOT coalesce(is_subagent, false)
  AND ($since IS NULL OR started_at >= $since)
  AND ($until IS NULL OR started_at < $until)
  AND ($session IS NULL OR session_id = $session)
  AND ($project IS NULL OR cwd = $project)
  AND ($agent IS NULL OR list_contains(agents, $agent))
  AND ($status IS NULL OR status = $status)
  AND ($search IS NULL
       OR prompt_text ILIKE '%' || $search || '%'
       OR correlation_id ILIKE $search || '%'
       OR session_id ILIKE $search || '%'
       OR error_message ILIKE '%' || $search || '%')
ORDER BY started_at DESC NULLS LAST
LIMIT $limit
