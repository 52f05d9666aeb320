-- session_facts: one row per session with what only session-level events say. Materialised by the
-- rollup; session_summary adds the per-trace aggregates.
--
-- session_key      See trace_events.
-- session_id       Claude Code session (NULL for SDK-only correlation groups).
-- first_event_at, last_event_at   First and last event of the session.
-- ended_at         Last SessionEnd.
-- end_reason       Its reason (clear, logout, prompt_input_exit, other, ...).
-- start_source     First SessionStart's source (startup, resume, clear, compact).
-- hosts            Machines the session's events came from.
-- cwd              Working directory (first seen).
-- transcript_path  Claude Code transcript of the session.
-- events           Events in the session.
-- compactions      PreCompact/PostCompact events.
-- notifications    Notification events.
CREATE OR REPLACE VIEW session_facts AS
SELECT
    session_key,
    max(session_id) AS session_id,
    min(event_time) AS first_event_at,
    max(event_time) AS last_event_at,
    max(event_time) FILTER (WHERE event_kind = 'session_end') AS ended_at,
    arg_max(json_extract_string(payload, '$.reason'), event_time) FILTER (WHERE event_kind = 'session_end') AS end_reason,
    arg_min(json_extract_string(payload, '$.source'), event_time) FILTER (WHERE event_kind = 'session_start') AS start_source,
    list(DISTINCT host ORDER BY host) FILTER (WHERE host IS NOT NULL) AS hosts,
    arg_min(cwd, event_time) FILTER (WHERE cwd IS NOT NULL) AS cwd,
    arg_min(transcript_path, event_time) FILTER (WHERE transcript_path IS NOT NULL) AS transcript_path,
    count(*) AS events,
    count(*) FILTER (WHERE event_kind = 'compact') AS compactions,
    count(*) FILTER (WHERE event_kind = 'notification') AS notifications
FROM trace_events
GROUP BY session_key;
