-- Model calls (event type model_call, from POST /api/v1/events and from OTLP model-call spans):
-- an agent's call to a model with the tokens it reported. Its tokens and cost count wherever tool
-- calls' do; it is not a tool call (no tool, server, status or latency).

-- The new type is accepted. NOT VALID: every stored row already passes the narrower old check, so
-- a scan of all raw events to prove it would be wasted; new partitions are checked as they are made.
ALTER TABLE usage_events DROP CONSTRAINT usage_events_type_check;
ALTER TABLE usage_events ADD CONSTRAINT usage_events_type_check
    CHECK (type IN ('tool_call', 'agent_request', 'circuit_breaker', 'sse_connection', 'model_call')) NOT VALID;
