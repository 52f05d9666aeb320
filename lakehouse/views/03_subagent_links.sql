-- subagent_links: which Agent/Task tool call started each subagent (child trace).
--
-- The rule, in order of preference:
--   1. the Agent/Task call whose PostToolUse response names the subagent (tool_response.agentId);
--   2. the call whose tool_use_id the SubagentStart itself carries (when a version sends it);
--   3. by order: within a session, the k-th still-unlinked Agent/Task call (by PreToolUse time) is
--      paired with the k-th still-unlinked subagent (by SubagentStart time), considering only calls
--      that started no later than the subagent. This covers calls still running and old versions.
-- A subagent with no call found hangs under the trace its events are correlated with (prompt_id).
-- depth is 1 for a subagent started from the main conversation, 2 for one started inside a
-- subagent, and so on; root_id is the top (main conversation) trace.
--
-- session_key            See trace_events.
-- agent_id               The subagent (= correlation_id of its child trace).
-- agent_type             Subagent type (SubagentStart, else the calling tool's subagent_type).
-- first_at               SubagentStart time (else the subagent's first event).
-- event_correlation_id   correlation_id ingest gave the subagent's events (the prompt's id).
-- parent_correlation_id  The trace that made the Agent/Task call (may itself be a subagent).
-- parent_tool_use_id     tool_use_id of that call.
-- link_rule              response / tool_use_id / order / correlation.
-- run_in_background      The call asked for a background run.
-- call_prompt            The prompt the call gave the subagent (tool_input.prompt).
-- depth                  Nesting depth (1 = started by the main conversation).
-- root_id                The main-conversation trace at the top of the chain.
CREATE OR REPLACE VIEW subagent_links AS
WITH RECURSIVE
agents AS (
    SELECT
        session_key,
        agent_id,
        coalesce(min(event_time) FILTER (WHERE event_kind = 'subagent_start'), min(event_time)) AS first_at,
        nullif(max(agent_type), '') AS agent_type,
        max(tool_use_id) FILTER (WHERE event_kind = 'subagent_start') AS start_tool_use_id,
        min(correlation_id) AS event_correlation_id
    FROM trace_events
    WHERE in_subagent
    GROUP BY session_key, agent_id
),
calls AS (
    SELECT * FROM tool_calls_base WHERE tool_name IN ('Agent', 'Task')
),
by_response AS (
    SELECT a.agent_id, c.correlation_id AS parent_correlation_id, c.tool_use_id AS parent_tool_use_id,
           c.start_event_id, 'response' AS link_rule
    FROM agents a JOIN calls c ON c.session_key = a.session_key AND c.response_agent_id = a.agent_id
    QUALIFY row_number() OVER (PARTITION BY a.agent_id ORDER BY c.started_at) = 1
),
by_tool_use AS (
    SELECT a.agent_id, c.correlation_id, c.tool_use_id, c.start_event_id, 'tool_use_id'
    FROM agents a JOIN calls c ON c.session_key = a.session_key AND c.tool_use_id = a.start_tool_use_id
    WHERE a.agent_id NOT IN (SELECT agent_id FROM by_response)
),
linked AS (
    SELECT * FROM by_response UNION ALL SELECT * FROM by_tool_use
),
open_agents AS (
    SELECT a.*, row_number() OVER (PARTITION BY a.session_key ORDER BY a.first_at, a.agent_id) AS k
    FROM agents a WHERE a.agent_id NOT IN (SELECT agent_id FROM linked)
),
open_calls AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.session_key ORDER BY c.started_at, c.start_event_id) AS k
    FROM calls c
    WHERE c.start_event_id IS NOT NULL
      AND c.start_event_id NOT IN (SELECT start_event_id FROM linked WHERE start_event_id IS NOT NULL)
      AND (c.response_agent_id IS NULL OR c.response_agent_id NOT IN (SELECT agent_id FROM agents))
),
by_order AS (
    SELECT a.agent_id, c.correlation_id, c.tool_use_id, c.start_event_id, 'order'
    FROM open_agents a JOIN open_calls c
        ON c.session_key = a.session_key AND c.k = a.k AND c.started_at <= a.first_at
        AND c.correlation_id <> a.agent_id
),
all_links AS (
    SELECT * FROM linked UNION ALL SELECT * FROM by_order
),
base AS (
    SELECT
        a.session_key, a.agent_id, a.first_at, a.event_correlation_id,
        coalesce(l.parent_correlation_id, a.event_correlation_id) AS parent_correlation_id,
        l.parent_tool_use_id,
        coalesce(l.link_rule, 'correlation') AS link_rule,
        coalesce(a.agent_type, c.subagent_type) AS agent_type,
        coalesce(c.run_in_background, false) AS run_in_background,
        json_extract_string(c.tool_input, '$.prompt') AS call_prompt
    FROM agents a
    LEFT JOIN all_links l ON l.agent_id = a.agent_id
    LEFT JOIN calls c ON c.start_event_id = l.start_event_id
),
chain(agent_id, ancestor, depth, hops) AS (
    SELECT agent_id, parent_correlation_id, 1, [agent_id] FROM base
    UNION ALL
    SELECT ch.agent_id, b.parent_correlation_id, ch.depth + 1, list_append(ch.hops, b.agent_id)
    FROM chain ch JOIN base b ON b.agent_id = ch.ancestor
    WHERE NOT list_contains(ch.hops, b.agent_id) AND ch.depth < 64
),
tops AS (
    SELECT agent_id, arg_max(ancestor, depth) AS root_id, max(depth) AS depth
    FROM chain GROUP BY agent_id
)
SELECT b.*, t.depth, t.root_id
FROM base b JOIN tops t USING (agent_id);
