-- Every raw tool_call event with its estimated tokens and cost, priced by the rates in force on the
-- event's UTC day. Read by the daily aggregation and by alert evaluation of today's events.

-- Validity period of each cost_rates row: [valid_from, valid_to). valid_to is the next
-- effective_from of the same model (or server label), NULL while no newer rate exists. Two rows of
-- one model with the same effective_from: the one with the greater name wins (the other gets an
-- empty period), so the choice never depends on physical row order.
CREATE VIEW cost_rate_periods AS
SELECT r.*,
       r.effective_from AS valid_from,
       lead(r.effective_from) OVER (PARTITION BY r.model, r.server_label ORDER BY r.effective_from, r.name) AS valid_to
FROM cost_rates r;

-- Pricing rules, per event (decimal arithmetic throughout, never floating point):
--  * tokens: the gateway's counts when given; else ceil(request_bytes / bytesPerToken) and
--    ceil(response_bytes / bytesPerToken) capped at maxOutputTokens, from the model's rate in
--    force that day (bytesPerToken 4 and no cap when the model has no rate).
--  * token cost: ((input - cached) * inputPerMillion + cached * cachedInputPerMillion
--    + output * outputPerMillion) / 1e6. Cached tokens are part of the input tokens; without a
--    cachedInputPerMillionTokens they cost the normal input price.
--  * call cost: toolCallPrice of the serverLabel rate in force for the event's server, if any.
--  * estimated_cost is NULL (unpriced, never a silent 0) when
--      - the event names a model that has no rate in force that day, or
--      - the event names no model and no serverLabel rate prices the call, or
--      - the model rate and the server rate are in different currencies: the two parts cannot be
--        summed, and pricing only one of them would under-report silently, so the whole call is
--        reported unpriced and unpriced_reason says which rates clash. Fix the rates; days already
--        aggregated keep what they had.
CREATE VIEW usage_events_estimated AS
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
           coalesce(((t.input_tokens - t.cached_tokens) * mr.input_per_million
                     + t.cached_tokens * coalesce(mr.cached_input_per_million, mr.input_per_million)
                     + t.output_tokens * mr.output_per_million) / 1000000, 0)
           + coalesce(sr.tool_call_price, 0)
       END AS estimated_cost,
       CASE WHEN p.priced THEN coalesce(mr.currency, sr.currency) END AS currency,
       CASE
           WHEN p.priced THEN NULL
           WHEN p.has_model AND mr.name IS NULL THEN format('no CostRate for model %s in force on %s', e.model, (e.time AT TIME ZONE 'UTC')::date)
           WHEN NOT p.has_model AND sr.name IS NULL THEN 'no model and no CostRate for server ' || coalesce(e.server_label, '(none)')
           ELSE format('CostRate %s (%s) and CostRate %s (%s) have different currencies', mr.name, mr.currency, sr.name, sr.currency)
       END AS unpriced_reason
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
