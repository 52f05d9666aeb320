-- The seed design's `tool_performance` view as the lakehouse defines it (all time; not filtered).
SELECT * FROM tool_performance LIMIT $limit
