-- Size and time span of the lake, from the per-session facts (stored by the lakehouse rollup, so
-- this reads one small table instead of de-duplicating every event).
-- events           Events in the lake (de-duplicated, as in the events view).
-- sessions         Sessions (and SDK-only correlation groups).
-- first_event_at, last_event_at   Oldest and newest event time.
SELECT
    coalesce(sum(events), 0)::BIGINT  AS events,
    count(*)                          AS sessions,
    max(last_event_at)                AS last_event_at,
    min(first_event_at)               AS first_event_at
FROM session_facts
