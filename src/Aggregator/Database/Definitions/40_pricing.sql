-- The pricing rule: tokens and cost of every raw tool call and model call, priced by the CostRates
-- in force on the event's UTC day. One home for it in SQL: the daily aggregation (DailyAggregator)
-- prices each group with agentmeter_cost and the rates of agentmeter_rates_on, alert evaluation of
-- today's events reads usage_events_estimated; the real-time estimate of the cost metric
-- (Costs/RealtimeCostEstimator) is the same rule in C#, held to this file by a test.
--
-- Pricing rules, per event (decimal arithmetic throughout, never floating point):
--  * tokens: the gateway's counts when given; else ceil(request_bytes / bytesPerToken) and
--    ceil(response_bytes / bytesPerToken) capped at maxOutputTokens, from the model's rate in
--    force that day (bytesPerToken 4 and no cap when the model has no rate). Counts are read
--    within bounds (10_bounded_arithmetic.sql), so bytes + bytesPerToken − 1 cannot overflow.
--  * token cost: ((input - cached) * inputPerMillion + cached * cachedInputPerMillion
--    + output * outputPerMillion) / 1e6. Cached tokens are part of the input tokens; without a
--    cachedInputPerMillionTokens they cost the normal input price.
--  * call cost: toolCallPrice of the serverLabel rate in force for the event's server, if any
--    (a model call names no server, so none applies).
--  * estimated_cost is NULL (unpriced, never a silent 0) when
--      - the event names a model that has no rate in force that day, or
--      - the event names no model and no serverLabel rate prices the call, or
--      - the model rate and the server rate are in different currencies: the two parts cannot be
--        summed, and pricing only one of them would under-report silently, so the whole call is
--        reported unpriced and unpriced_reason says which rates clash. Fix the rates; days already
--        aggregated keep what they had.


-- Validity period of each cost_rates row: [valid_from, valid_to). valid_to is the next
-- effective_from of the same model (or server label), NULL while no newer rate exists. Two rows of
-- one model with the same effective_from: the one with the greater name wins (the other gets an
-- empty period), so the choice never depends on physical row order.
CREATE OR REPLACE VIEW cost_rate_periods AS
SELECT r.*,
       r.effective_from AS valid_from,
       lead(r.effective_from) OVER (PARTITION BY r.model, r.server_label ORDER BY r.effective_from, r.name) AS valid_to
FROM cost_rates r;

-- Pricing rules, per event (decimal arithmetic throughout, never floating point):

-- The token cost plus the call cost, for one event and for a sum of events priced alike (the daily
-- aggregation prices each group once from its token sums: the formula is linear, so the result is
-- the same to the last decimal as the sum of the events' costs, at a fraction of the work).
CREATE OR REPLACE FUNCTION agentmeter_cost(input numeric, cached numeric, output numeric, calls numeric,
                                input_per_million numeric, cached_input_per_million numeric,
                                output_per_million numeric, tool_call_price numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(((input - cached) * input_per_million
                     + cached * coalesce(cached_input_per_million, input_per_million)
                     + output * output_per_million) / 1000000, 0)
           + calls * coalesce(tool_call_price, 0) $$;


-- Tokens: the gateway's counts when given; else ceil(bytes / bytesPerToken) (4 without a rate),
-- output capped at maxOutputTokens.
CREATE OR REPLACE FUNCTION agentmeter_input_tokens(input_tokens bigint, request_bytes bigint, bytes_per_token integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(agentmeter_bounded_count(input_tokens),
                    (coalesce(agentmeter_bounded_count(request_bytes), 0) + coalesce(bytes_per_token, 4) - 1) / coalesce(bytes_per_token, 4)) $$;

CREATE OR REPLACE FUNCTION agentmeter_output_tokens(output_tokens bigint, response_bytes bigint, bytes_per_token integer, max_output_tokens bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(agentmeter_bounded_count(output_tokens),
                    least((coalesce(agentmeter_bounded_count(response_bytes), 0) + coalesce(bytes_per_token, 4) - 1) / coalesce(bytes_per_token, 4),
                          max_output_tokens)) $$;

-- Priced: a model's call needs the model's rate (and a server rate, if any, in the same currency);
-- a call without a model needs a server rate.
CREATE OR REPLACE FUNCTION agentmeter_priced(has_model boolean, model_rate text, model_currency text, server_rate text, server_currency text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN has_model THEN model_rate IS NOT NULL AND (server_rate IS NULL OR server_currency = model_currency)
                ELSE server_rate IS NOT NULL END $$;

-- The rates in force on one day: what the aggregation of that day joins, once, instead of testing
-- every event's date against every period.
CREATE OR REPLACE FUNCTION agentmeter_rates_on(day date) RETURNS SETOF cost_rate_periods
    LANGUAGE sql STABLE AS $$
    SELECT * FROM cost_rate_periods WHERE valid_from <= day AND (valid_to > day OR valid_to IS NULL) $$;

-- Every raw tool call and model call with its estimated tokens and cost, the rates and the prices
-- it was priced with (NULL when unpriced: a sum of events that share them is priced once with
-- agentmeter_cost), and the event's type as its last column: readers count calls with
-- type = 'tool_call'.
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
