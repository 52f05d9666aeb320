-- Learned success patterns (every version, pruned ones included; the page splits them).
SELECT * FROM success_patterns LIMIT $limit
