-- The seed design's `hook_performance_summary` view as the lakehouse defines it (all time; not filtered).
SELECT * FROM hook_performance_summary LIMIT $limit
