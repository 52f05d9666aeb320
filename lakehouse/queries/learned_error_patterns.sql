-- Error patterns mined by the learning job (templates with counts, severity, samples).
SELECT * FROM error_patterns LIMIT $limit
