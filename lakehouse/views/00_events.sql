-- events: the canonical event rows of the lake, each logical event once.
--
-- Built over `lake_events` (every row of every Parquet file under <lake>/events, Hive-partitioned by
-- date; an empty typed relation on an empty lake). Columns are exactly ingest.schema.CANONICAL_COLUMNS
-- plus the partition column `date`.
--
-- De-duplication, in two steps:
--   1. the same event_id (a spool line ingested twice, or the same file copied from two machines)
--      is kept once: the row captured first, then the lowest ingest_id;
--   2. one logical event seen by two producers: a live hook row and a transcript import
--      (source = 'transcript') of the same tool event (session_id, tool_use_id, event_kind) or of the
--      same prompt (session_id, prompt_id, 'prompt'). The live hook's row is kept, the transcript
--      row dropped. Transcript rows with no live twin (e.g. token usage, or a session recorded before
--      the hooks were installed) are kept.
CREATE OR REPLACE VIEW events AS
WITH unique_ids AS (
    SELECT *
    FROM lake_events
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY captured_at, ingest_id) = 1
),
keyed AS (
    SELECT *,
        CASE
            WHEN tool_use_id IS NOT NULL AND event_kind IN ('tool_start', 'tool_end', 'tool_failure')
                THEN 't:' || tool_use_id
            WHEN event_kind = 'prompt' AND prompt_id IS NOT NULL THEN 'p:' || prompt_id
        END AS twin_key
    FROM unique_ids
),
flagged AS (
    SELECT *,
        bool_or(source IS DISTINCT FROM 'transcript')
            OVER (PARTITION BY session_id, event_kind, twin_key) AS has_live_twin
    FROM keyed
)
SELECT * EXCLUDE (twin_key, has_live_twin)
FROM flagged
WHERE twin_key IS NULL OR source IS DISTINCT FROM 'transcript' OR NOT has_live_twin;
