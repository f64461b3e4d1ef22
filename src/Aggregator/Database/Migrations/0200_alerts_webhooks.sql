-- Alert state, webhook outbox and delivery attempts.

-- One row per alert and group ('' when the alert has no groupBy): the state machine's memory, so a
-- restart neither forgets a firing alert nor fires it again.
CREATE TABLE alert_states (
    namespace      text NOT NULL,
    name           text NOT NULL,
    group_key      text NOT NULL,
    state          text NOT NULL CHECK (state IN ('Ok', 'Firing')),
    value          numeric,
    since          timestamptz NOT NULL,   -- when the current state began
    last_fired_at  timestamptz,            -- last firing that was notified (cooldown counts from it)
    notified       boolean NOT NULL DEFAULT false, -- the current firing was notified (false: suppressed by cooldown)
    firing_id      text,                   -- id of the current or last firing, part of its idempotency keys
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (namespace, name, group_key)
);

-- Last evaluation of each alert, read by GET /api/v1/alerts on any replica.
CREATE TABLE alert_evaluations (
    namespace      text NOT NULL,
    name           text NOT NULL,
    evaluated_at   timestamptz NOT NULL,
    value          numeric,                -- largest group value
    error          text,                   -- why the alert could not be evaluated (state Unknown)
    PRIMARY KEY (namespace, name)
);

-- Durable outbox: a row is written in the same transaction as the state change that causes it.
-- The payload holds the facts only; the target URL, secrets and wire format are resolved when sent,
-- so no secret is ever stored here.
CREATE TABLE webhook_outbox (
    id               bigserial PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    namespace        text NOT NULL,
    alert_name       text NOT NULL,
    webhook_name     text NOT NULL,
    group_key        text NOT NULL,
    event_type       text NOT NULL CHECK (event_type IN ('firing', 'resolved')),
    tenant_id        text,
    payload          jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL, -- persisted backoff: survives restarts
    last_error       text,
    finished_at      timestamptz
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';

-- Every delivery attempt (the analytics errors endpoint reads the failure rate per day from it).
CREATE TABLE webhook_attempts (
    id            bigserial PRIMARY KEY,
    outbox_id     bigint NOT NULL,
    attempted_at  timestamptz NOT NULL,
    succeeded     boolean NOT NULL,
    tenant_id     text,
    namespace     text NOT NULL,
    alert_name    text NOT NULL,
    webhook_name  text NOT NULL,
    event_type    text NOT NULL,
    http_status   integer,
    error         text,
    duration_ms   double precision NOT NULL
);
CREATE INDEX webhook_attempts_time ON webhook_attempts (attempted_at);
CREATE INDEX webhook_attempts_tenant_time ON webhook_attempts (tenant_id, attempted_at);
