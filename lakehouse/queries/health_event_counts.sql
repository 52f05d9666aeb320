-- Events per day and source, for the Health page (are all producers still sending?).
SELECT date_trunc('day', event_time) AS bucket, source, count(*) AS events
FROM events
WHERE ($since IS NULL OR event_time >= $since) AND ($until IS NULL OR event_time < $until)
GROUP BY 1, 2
ORDER BY 1, 2
