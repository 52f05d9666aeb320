-- routing_logged: routing decisions a router logged (routing_decision events, hooks.sdk.routing).
-- Materialised by the rollup; agent_routing_decisions adds the observed routing.
--
-- session_key        See trace_events.
-- decision_id        event_id.
-- correlation_id     The trace the decision was made for.
-- session_id
-- user_request       The prompt the router saw (payload prompt), else NULL (filled from the trace).
-- selected_agent     Agent the router chose.
-- confidence_score   Its confidence (0..1).
-- alternatives       JSON text: agents considered and not chosen, with confidences.
-- reasoning          The router's reason.
-- routing_strategy   The strategy it named (else 'logged').
-- routing_time_ms    Time the router took.
-- pattern_id         Learned pattern it used, if any.
-- cache_hit          The router answered from its cache.
-- created_at         Event time.
CREATE OR REPLACE VIEW routing_logged AS
SELECT
    session_key,
    event_id AS decision_id,
    trace_id AS correlation_id,
    session_id,
    coalesce(json_extract_string(payload, '$.prompt'), json_extract_string(payload, '$.user_request')) AS user_request,
    coalesce(json_extract_string(payload, '$.selected_agent'), json_extract_string(payload, '$.agent')) AS selected_agent,
    TRY_CAST(json_extract_string(payload, '$.confidence') AS DOUBLE) AS confidence_score,
    json_extract(payload, '$.alternatives')::VARCHAR AS alternatives,
    coalesce(json_extract_string(payload, '$.reason'), json_extract_string(payload, '$.reasoning')) AS reasoning,
    coalesce(json_extract_string(payload, '$.strategy'), 'logged') AS routing_strategy,
    coalesce(duration_ms, TRY_CAST(json_extract_string(payload, '$.routing_time_ms') AS DOUBLE)) AS routing_time_ms,
    json_extract_string(payload, '$.pattern_id') AS pattern_id,
    coalesce(TRY_CAST(json_extract_string(payload, '$.cache_hit') AS BOOLEAN), false) AS cache_hit,
    event_time AS created_at
FROM trace_events
WHERE event_kind = 'routing_decision';
