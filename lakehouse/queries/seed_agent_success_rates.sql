-- The seed design's `agent_success_rates` view as the lakehouse defines it (all time; not filtered).
SELECT * FROM agent_success_rates LIMIT $limit
