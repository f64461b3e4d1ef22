-- Model calls (event type model_call, from POST /api/v1/events and from OTLP model-call spans):
-- an agent's call to a model with the tokens it reported. Its tokens and cost count wherever tool
-- calls' do; it is not a tool call (no tool, server, status or latency).

-- The new type is accepted. NOT VALID: every stored row already passes the narrower old check, so
-- a scan of all raw events to prove it would be wasted; new partitions are checked as they are made.
ALTER TABLE usage_events DROP CONSTRAINT usage_events_type_check;
ALTER TABLE usage_events ADD CONSTRAINT usage_events_type_check
    CHECK (type IN ('tool_call', 'agent_request', 'circuit_breaker', 'sse_connection', 'model_call')) NOT VALID;

-- Same view as 0010, with model calls priced like tool calls (they name no server, so no toolCallPrice
-- applies) and the event's type as its last column: readers count calls with type = 'tool_call'.
CREATE OR REPLACE VIEW usage_events_estimated AS
SELECT e.time,
       (e.time AT TIME ZONE 'UTC')::date AS day,
       e.event_id,
       e.agent_id,
       e.tool_name,
       e.server_label,
       e.user_id,
       e.tenant_id,
       e.model,
       e.status,
       e.latency_ms,
       e.request_bytes,
       e.response_bytes,
       e.source,
       t.input_tokens  AS estimated_input_tokens,
       t.output_tokens AS estimated_output_tokens,
       t.cached_tokens AS cached_input_tokens,
       mr.name AS model_rate,
       sr.name AS server_rate,
       CASE WHEN p.priced THEN
           agentmeter_cost(t.input_tokens, t.cached_tokens, t.output_tokens, 1, mr.input_per_million,
                           mr.cached_input_per_million, mr.output_per_million, sr.tool_call_price)
       END AS estimated_cost,
       CASE WHEN p.priced THEN coalesce(mr.currency, sr.currency) END AS currency,
       CASE
           WHEN p.priced THEN NULL
           WHEN p.has_model AND mr.name IS NULL THEN format('no CostRate for model %s in force on %s', e.model, (e.time AT TIME ZONE 'UTC')::date)
           WHEN NOT p.has_model AND sr.name IS NULL THEN 'no model and no CostRate for server ' || coalesce(e.server_label, '(none)')
           ELSE format('CostRate %s (%s) and CostRate %s (%s) have different currencies', mr.name, mr.currency, sr.name, sr.currency)
       END AS unpriced_reason,
       CASE WHEN p.priced THEN mr.input_per_million END AS input_per_million,
       CASE WHEN p.priced THEN mr.cached_input_per_million END AS cached_input_per_million,
       CASE WHEN p.priced THEN mr.output_per_million END AS output_per_million,
       CASE WHEN p.priced THEN sr.tool_call_price END AS tool_call_price,
       e.type
FROM usage_events e
LEFT JOIN cost_rate_periods mr
       ON mr.model = e.model
      AND (e.time AT TIME ZONE 'UTC')::date >= mr.valid_from
      AND ((e.time AT TIME ZONE 'UTC')::date < mr.valid_to OR mr.valid_to IS NULL)
LEFT JOIN cost_rate_periods sr
       ON sr.server_label = e.server_label
      AND sr.tool_call_price IS NOT NULL
      AND (e.time AT TIME ZONE 'UTC')::date >= sr.valid_from
      AND ((e.time AT TIME ZONE 'UTC')::date < sr.valid_to OR sr.valid_to IS NULL)
CROSS JOIN LATERAL (
    SELECT agentmeter_input_tokens(e.input_tokens, e.request_bytes, mr.bytes_per_token) AS input_tokens,
           agentmeter_output_tokens(e.output_tokens, e.response_bytes, mr.bytes_per_token, mr.max_output_tokens) AS output_tokens
) t0
-- Ingest and import refuse cached > input; the cap keeps a hand-inserted row from pricing negative tokens.
CROSS JOIN LATERAL (
    SELECT t0.input_tokens, t0.output_tokens, least(coalesce(e.cached_input_tokens, 0), t0.input_tokens) AS cached_tokens
) t
CROSS JOIN LATERAL (
    SELECT coalesce(e.model, '') <> '' AS has_model,
           agentmeter_priced(coalesce(e.model, '') <> '', mr.name, mr.currency, sr.name, sr.currency) AS priced
) p
WHERE e.type IN ('tool_call', 'model_call');
