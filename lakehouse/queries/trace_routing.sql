-- Routing decisions for a trace and its subagent runs (logged by a router, or the observed delegation).
-- $ids: the trace's correlation ids (from the assembled trace).
SELECT * FROM agent_routing_decisions WHERE correlation_id IN (SELECT unnest($ids::VARCHAR[]))
