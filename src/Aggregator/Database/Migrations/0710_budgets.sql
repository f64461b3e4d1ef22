-- Budgets: the last evaluation of each Budget and what it notified in the current period, so a restart
-- neither forgets nor repeats a threshold, and a new period (another period_start) starts clean.
CREATE TABLE budget_states (
    namespace                text NOT NULL,
    name                     text NOT NULL,
    period_start             timestamptz NOT NULL,
    period_end               timestamptz NOT NULL,
    currency                 text NOT NULL,
    amount                   numeric NOT NULL,
    spent                    numeric,
    projected                numeric,
    projected_exhaustion     date,
    state                    text CHECK (state IN ('UnderBudget', 'Warning', 'ProjectedOverrun', 'Exceeded')),
    forecast_method          text,
    last_notified_threshold  integer,             -- highest threshold notified in this period
    forecast_notified        boolean NOT NULL DEFAULT false, -- the projected overrun of this period was notified
    evaluated_at             timestamptz NOT NULL,
    error                    text,                -- why the last evaluation failed (the values above are the last good ones)
    PRIMARY KEY (namespace, name)
);

-- The outbox carries Budget notifications too: the kind of resource a row is from (its webhook is looked up
-- there), and the budget event types: a threshold reached, the projection reaching the amount.
ALTER TABLE webhook_outbox ADD COLUMN resource_kind text NOT NULL DEFAULT 'UsageAlert';
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_event_type_check;
ALTER TABLE webhook_outbox ADD CONSTRAINT webhook_outbox_event_type_check
    CHECK (event_type IN ('firing', 'resolved', 'threshold', 'forecast'));
