-- Pattern usage log (replays and their outcomes), newest first.
SELECT * FROM pattern_usage_log LIMIT $limit
