-- The seed design's `endpoint_reliability` view as the lakehouse defines it (all time; not filtered).
SELECT * FROM endpoint_reliability LIMIT $limit
