-- Learned success patterns: the current version of every pattern, active and pruned (the page splits them).
SELECT * FROM success_patterns LIMIT $limit
