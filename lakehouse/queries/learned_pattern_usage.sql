-- Pattern usage log (replays and their outcomes), newest first.
SELECT * FROM pattern_usage_log ORDER BY created_at DESC NULLS LAST LIMIT $limit
