-- Agent-chaining patterns: sequences of delegated subagents.
SELECT * FROM agent_chaining_patterns LIMIT $limit
