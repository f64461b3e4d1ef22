-- The pricing rules of 0003 as small SQL functions (inlined by the planner), so the per-event view
-- below and the daily aggregation (DailyAggregator) share one definition of each rule.

-- Tokens: the gateway's counts when given; else ceil(bytes / bytesPerToken) (4 without a rate),
-- output capped at maxOutputTokens.
CREATE FUNCTION agentmeter_input_tokens(input_tokens bigint, request_bytes bigint, bytes_per_token integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(input_tokens, (coalesce(request_bytes, 0) + coalesce(bytes_per_token, 4) - 1) / coalesce(bytes_per_token, 4)) $$;

CREATE FUNCTION agentmeter_output_tokens(output_tokens bigint, response_bytes bigint, bytes_per_token integer, max_output_tokens bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(output_tokens, least((coalesce(response_bytes, 0) + coalesce(bytes_per_token, 4) - 1) / coalesce(bytes_per_token, 4), max_output_tokens)) $$;

-- Priced: a model's call needs the model's rate (and a server rate, if any, in the same currency);
-- a call without a model needs a server rate.
CREATE FUNCTION agentmeter_priced(has_model boolean, model_rate text, model_currency text, server_rate text, server_currency text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN has_model THEN model_rate IS NOT NULL AND (server_rate IS NULL OR server_currency = model_currency)
                ELSE server_rate IS NOT NULL END $$;

-- The rates in force on one day: what the aggregation of that day joins, once, instead of testing
-- every event's date against every period.
CREATE FUNCTION agentmeter_rates_on(day date) RETURNS SETOF cost_rate_periods
    LANGUAGE sql STABLE AS $$
    SELECT * FROM cost_rate_periods WHERE valid_from <= day AND (valid_to > day OR valid_to IS NULL) $$;

-- Same view as 0008, through the functions above.
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
WHERE e.type = 'tool_call';
