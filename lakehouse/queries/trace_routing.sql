-- Routing decisions for a trace and its subagent runs (logged by a router, or the observed delegation).
-- $ids: the trace's correlation ids (from the assembled trace). list_contains (rather than
-- IN (SELECT unnest(...))) lets the filter reach both scans of the view instead of a semi-join.
SELECT * FROM agent_routing_decisions WHERE list_contains($ids::VARCHAR[], correlation_id)
