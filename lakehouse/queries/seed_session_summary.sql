-- The seed design's `session_summary` view as the lakehouse defines it (all time; not filtered).
SELECT * FROM session_summary LIMIT $limit
