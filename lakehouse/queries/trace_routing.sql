-- Routing decisions recorded for a trace (logged by a router, or observed delegation).
SELECT * FROM agent_routing_decisions WHERE list_contains($ids, correlation_id)
