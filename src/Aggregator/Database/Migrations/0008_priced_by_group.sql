-- One pricing formula for one event and for a sum of events priced alike (the daily aggregation
-- prices each group once from its token sums: the formula is linear, so the result is the same
-- to the last decimal as the sum of the events' costs, at a fraction of the work).
CREATE FUNCTION agentmeter_cost(input numeric, cached numeric, output numeric, calls numeric,
                                input_per_million numeric, cached_input_per_million numeric,
                                output_per_million numeric, tool_call_price numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(((input - cached) * input_per_million
                     + cached * coalesce(cached_input_per_million, input_per_million)
                     + output * output_per_million) / 1000000, 0)
           + calls * coalesce(tool_call_price, 0) $$;

-- Same view as 0003, pricing through agentmeter_cost and showing the prices it used.
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
       -- The prices in force for the event (NULL when unpriced), so a sum of events that share
       -- them can be priced once with agentmeter_cost instead of per event.
       CASE WHEN p.priced THEN mr.input_per_million END AS input_per_million,
       CASE WHEN p.priced THEN mr.cached_input_per_million END AS cached_input_per_million,
       CASE WHEN p.priced THEN mr.output_per_million END AS output_per_million,
       CASE WHEN p.priced THEN sr.tool_call_price END AS tool_call_price
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
    SELECT coalesce(e.input_tokens, (coalesce(e.request_bytes, 0) + coalesce(mr.bytes_per_token, 4) - 1) / coalesce(mr.bytes_per_token, 4)) AS input_tokens,
           coalesce(e.output_tokens, least((coalesce(e.response_bytes, 0) + coalesce(mr.bytes_per_token, 4) - 1) / coalesce(mr.bytes_per_token, 4), mr.max_output_tokens)) AS output_tokens
) t0
-- Ingest and import refuse cached > input; the cap keeps a hand-inserted row from pricing negative tokens.
CROSS JOIN LATERAL (
    SELECT t0.input_tokens, t0.output_tokens, least(coalesce(e.cached_input_tokens, 0), t0.input_tokens) AS cached_tokens
) t
CROSS JOIN LATERAL (
    SELECT coalesce(e.model, '') <> '' AS has_model,
           CASE WHEN coalesce(e.model, '') <> '' THEN mr.name IS NOT NULL AND (sr.name IS NULL OR sr.currency = mr.currency)
                ELSE sr.name IS NOT NULL
           END AS priced
) p
WHERE e.type = 'tool_call';
