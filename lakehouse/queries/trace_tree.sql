-- The trace and its subagent runs, recursively (child traces nested under the call that started them).
WITH RECURSIVE tree(correlation_id, parent_correlation_id, parent_tool_use_id, agent_type, depth) AS (
    SELECT $correlation_id::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, 0
    UNION ALL
    SELECT s.correlation_id, s.parent_correlation_id, s.parent_tool_use_id, s.agent_type, tree.depth + 1
    FROM subagent_runs s JOIN tree ON s.parent_correlation_id = tree.correlation_id
    WHERE tree.depth < 8 AND s.correlation_id <> tree.correlation_id
)
SELECT DISTINCT correlation_id, parent_correlation_id, parent_tool_use_id, agent_type, depth FROM tree
