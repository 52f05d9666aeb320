-- One row per advised prompt: its experiment group and the outcome of its trace.
-- Advice events carry the group ("treatment" | "holdout" | "shadow") in their payload; a prompt
-- advised twice (a retry) keeps its first advice. Prompts whose trace is not in the lake yet
-- have NULL outcome columns and are counted as pending by the report. Tool failures count the
-- whole tree: the prompt's own tools and those of the subagents it started (same root_id).
WITH advice AS (
    SELECT
        coalesce(correlation_id, json_extract_string(payload, '$.correlation_id')) AS correlation_id,
        json_extract_string(payload, '$.group') AS grp,
        json_extract_string(payload, '$.pattern_id') AS pattern_id,
        event_time AS advised_at,
        row_number() OVER (
            PARTITION BY coalesce(correlation_id, json_extract_string(payload, '$.correlation_id'))
            ORDER BY event_time, event_id
        ) AS rn
    FROM events
    WHERE event_kind = 'advice'
      AND ($since IS NULL OR event_time >= CAST($since AS TIMESTAMPTZ))
)
SELECT
    a.correlation_id,
    a.grp AS "group",
    a.pattern_id,
    a.advised_at,
    t.correlation_id IS NOT NULL AS completed,
    t.success,
    t.duration_ms,
    coalesce(tree.tool_failures, t.tool_failures) AS tool_failures
FROM advice a
LEFT JOIN execution_traces t ON t.correlation_id = a.correlation_id
LEFT JOIN (
    SELECT root_id, sum(tool_failures) AS tool_failures
    FROM execution_traces
    GROUP BY root_id
) tree ON tree.root_id = a.correlation_id
WHERE a.rn = 1 AND a.correlation_id IS NOT NULL AND a.grp IS NOT NULL
ORDER BY a.advised_at
