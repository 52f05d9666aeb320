-- agent_chaining_patterns: sequences of delegated subagents (the seed's multi-agent workflows).
-- tags: no source in Claude Code (NULL). created_at = first trace seen with the chain.
CREATE OR REPLACE VIEW agent_chaining_patterns AS
SELECT
    chain_id AS id,
    primary_agent,
    delegated_agents,
    delegation_depth,
    trigger_context,
    success_rate,
    usage_count,
    success_count,
    CAST(round(avg_total_duration_ms) AS INTEGER) AS avg_total_duration_ms,
    CAST(round(avg_coordination_overhead_ms) AS INTEGER) AS avg_coordination_overhead_ms,
    avg_subagent_duration_ms,
    source_traces,
    CAST(NULL AS VARCHAR[]) AS tags,
    first_seen_at AS created_at,
    last_seen_at AS last_used_at,
    updated_at
FROM learned_chaining;
