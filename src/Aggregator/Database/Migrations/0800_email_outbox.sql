-- Mail is another channel of the notification outbox: a row is either for one webhook (webhook_name) or the one
-- mail of a notification to the resource's spec.email recipients (webhook_name 'email'). Same retries, backoff
-- and dead letters; only webhook deliveries are recorded in webhook_attempts (the webhookFailureRate metric).
ALTER TABLE webhook_outbox ADD COLUMN channel text NOT NULL DEFAULT 'webhook' CHECK (channel IN ('webhook', 'email'));
