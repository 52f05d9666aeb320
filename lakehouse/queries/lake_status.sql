-- Freshness of the lake: newest capture and event times, event count.
SELECT
    count(*)          AS events,
    max(captured_at)  AS last_captured_at,
    max(event_time)   AS last_event_at,
    min(event_time)   AS first_event_at,
    count(DISTINCT ingest_id) AS ingest_batches
FROM events
