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
--
-- Only transcript rows can be dropped in step 2, so the live keys are looked up for the keys that
-- transcript rows carry (a lake without transcript imports does no work there).
CREATE OR REPLACE VIEW events AS
WITH dup_ids AS (
    SELECT event_id FROM lake_events GROUP BY event_id HAVING count(*) > 1
),
unique_ids AS (
    SELECT * FROM lake_events ANTI JOIN dup_ids USING (event_id)
    UNION ALL
    SELECT * FROM (SELECT * FROM lake_events SEMI JOIN dup_ids USING (event_id))
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY captured_at, ingest_id) = 1
),
transcript AS (
    SELECT *,
        CASE
            WHEN tool_use_id IS NOT NULL AND event_kind IN ('tool_start', 'tool_end', 'tool_failure')
                THEN 't:' || tool_use_id
            WHEN event_kind = 'prompt' AND prompt_id IS NOT NULL THEN 'p:' || prompt_id
        END AS twin_key
    FROM unique_ids
    WHERE source = 'transcript'
),
transcript_keys AS (
    SELECT DISTINCT session_id, event_kind, twin_key FROM transcript WHERE twin_key IS NOT NULL
),
live_keys AS (
    SELECT DISTINCT l.session_id, l.event_kind, l.twin_key
    FROM (
        SELECT session_id, event_kind,
            CASE
                WHEN tool_use_id IS NOT NULL AND event_kind IN ('tool_start', 'tool_end', 'tool_failure')
                    THEN 't:' || tool_use_id
                WHEN event_kind = 'prompt' AND prompt_id IS NOT NULL THEN 'p:' || prompt_id
            END AS twin_key
        FROM unique_ids
        WHERE source IS DISTINCT FROM 'transcript' AND event_kind IN ('tool_start', 'tool_end', 'tool_failure', 'prompt')
    ) l
    SEMI JOIN transcript_keys t
        ON l.session_id IS NOT DISTINCT FROM t.session_id AND l.event_kind = t.event_kind AND l.twin_key = t.twin_key
)
SELECT * FROM unique_ids WHERE source IS DISTINCT FROM 'transcript'
UNION ALL
SELECT k.* EXCLUDE (twin_key)
FROM transcript k
ANTI JOIN live_keys l
    ON l.session_id IS NOT DISTINCT FROM k.session_id AND l.event_kind = k.event_kind AND l.twin_key = k.twin_key;
