-- hooklake doctor: reconcile the capture sources of each session.
--
-- Input: a relation `events` with the canonical columns (lake events, any number of sources).
-- Joins hooks (source claude_code), transcripts (source transcript) and telemetry (source otlp)
-- on prompt_id and tool_use_id. One row per session; the *_missing_* columns count what one
-- source saw and another did not. A session with no hook events at all is reported by
-- hook_events = 0 (hooks not installed then), not by hundreds of "missing" counts.
WITH ev AS (
    SELECT DISTINCT ON (event_id)
        event_id, source, session_id, prompt_id, tool_use_id, event_kind, event_time, status
    FROM events
    WHERE session_id IS NOT NULL
),
per_session AS (
    SELECT
        session_id,
        min(event_time) AS first_seen,
        max(event_time) AS last_seen,
        count(*) FILTER (WHERE source = 'claude_code') AS hook_events,
        count(*) FILTER (WHERE source = 'transcript') AS transcript_events,
        count(*) FILTER (WHERE source = 'otlp') AS otlp_events,
        count(*) FILTER (WHERE source NOT IN ('claude_code', 'transcript', 'otlp')) AS other_events,
        count(*) FILTER (WHERE source = 'claude_code' AND event_kind = 'prompt') AS hook_prompts,
        count(*) FILTER (WHERE source = 'claude_code' AND event_kind = 'stop') AS hook_stops,
        count(*) FILTER (WHERE event_kind = 'hook_execution' AND status = 'error') AS wrapped_hook_failures
    FROM ev
    GROUP BY session_id
),
prompts AS (
    SELECT
        session_id,
        prompt_id,
        bool_or(source = 'claude_code') AS in_hooks,
        bool_or(source = 'transcript') AS in_transcript,
        bool_or(source = 'otlp') AS in_otlp
    FROM ev
    WHERE event_kind = 'prompt' AND prompt_id IS NOT NULL
    GROUP BY session_id, prompt_id
),
stops AS (
    SELECT DISTINCT session_id, prompt_id
    FROM ev
    WHERE source = 'claude_code' AND event_kind = 'stop' AND prompt_id IS NOT NULL
),
prompt_gaps AS (
    SELECT
        p.session_id,
        count(*) FILTER (WHERE p.in_hooks) AS prompts_hooks,
        count(*) FILTER (WHERE p.in_transcript) AS prompts_transcript,
        count(*) FILTER (WHERE p.in_otlp) AS prompts_otlp,
        count(*) FILTER (WHERE NOT p.in_hooks AND (p.in_transcript OR p.in_otlp)) AS prompts_missing_in_hooks,
        count(*) FILTER (WHERE p.in_hooks AND NOT p.in_transcript) AS prompts_missing_in_transcript,
        count(*) FILTER (WHERE p.in_hooks AND NOT p.in_otlp) AS prompts_missing_in_otlp,
        count(*) FILTER (WHERE p.in_hooks AND s.prompt_id IS NULL) AS prompts_without_stop
    FROM prompts p
    LEFT JOIN stops s ON s.session_id = p.session_id AND s.prompt_id = p.prompt_id
    GROUP BY p.session_id
),
tools AS (
    SELECT
        session_id,
        tool_use_id,
        bool_or(source = 'claude_code' AND event_kind = 'tool_start') AS hook_start,
        bool_or(source = 'claude_code' AND event_kind IN ('tool_end', 'tool_failure')) AS hook_end,
        bool_or(source = 'transcript' AND event_kind = 'tool_start') AS transcript_start,
        bool_or(source = 'transcript' AND event_kind IN ('tool_end', 'tool_failure')) AS transcript_end,
        bool_or(source = 'otlp') AS in_otlp
    FROM ev
    WHERE tool_use_id IS NOT NULL AND event_kind IN ('tool_start', 'tool_end', 'tool_failure')
    GROUP BY session_id, tool_use_id
),
tool_gaps AS (
    SELECT
        session_id,
        count(*) FILTER (WHERE hook_start OR hook_end) AS tools_hooks,
        count(*) FILTER (WHERE transcript_start OR transcript_end) AS tools_transcript,
        count(*) FILTER (WHERE transcript_start AND NOT hook_start) AS pre_tool_missing_in_hooks,
        count(*) FILTER (WHERE transcript_end AND NOT hook_end) AS post_tool_missing_in_hooks,
        count(*) FILTER (WHERE (hook_start OR hook_end) AND NOT (transcript_start OR transcript_end)) AS tools_missing_in_transcript,
        count(*) FILTER (WHERE hook_start AND NOT hook_end AND NOT transcript_end) AS tools_without_result
    FROM tools
    GROUP BY session_id
)
SELECT
    s.session_id,
    s.first_seen,
    s.last_seen,
    s.hook_events,
    s.transcript_events,
    s.otlp_events,
    s.other_events,
    coalesce(pg.prompts_hooks, 0) AS prompts_hooks,
    coalesce(pg.prompts_transcript, 0) AS prompts_transcript,
    coalesce(pg.prompts_otlp, 0) AS prompts_otlp,
    coalesce(pg.prompts_missing_in_hooks, 0) AS prompts_missing_in_hooks,
    coalesce(pg.prompts_missing_in_transcript, 0) AS prompts_missing_in_transcript,
    coalesce(pg.prompts_missing_in_otlp, 0) AS prompts_missing_in_otlp,
    coalesce(tg.tools_hooks, 0) AS tools_hooks,
    coalesce(tg.tools_transcript, 0) AS tools_transcript,
    coalesce(tg.pre_tool_missing_in_hooks, 0) AS pre_tool_missing_in_hooks,
    coalesce(tg.post_tool_missing_in_hooks, 0) AS post_tool_missing_in_hooks,
    coalesce(tg.tools_missing_in_transcript, 0) AS tools_missing_in_transcript,
    coalesce(tg.tools_without_result, 0) AS tools_without_result,
    s.hook_prompts,
    s.hook_stops,
    -- with prompt ids: hook prompts whose trace has no Stop; without (old versions): by count
    CASE WHEN coalesce(pg.prompts_hooks, 0) > 0 THEN coalesce(pg.prompts_without_stop, 0)
         ELSE greatest(s.hook_prompts - s.hook_stops, 0) END AS prompts_without_stop,
    s.wrapped_hook_failures
FROM per_session s
LEFT JOIN prompt_gaps pg ON pg.session_id = s.session_id
LEFT JOIN tool_gaps tg ON tg.session_id = s.session_id
ORDER BY s.last_seen DESC NULLS LAST, s.session_id
