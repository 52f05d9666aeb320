-- Events per hook event name / SDK kind, with the newest occurrence (unknown names are kept as sent).
SELECT event_name, event_kind, count(*) AS events, max(event_time) AS last_seen,
       sum(coalesce(redactions, 0)) AS redactions
FROM events
GROUP BY 1, 2
ORDER BY events DESC
