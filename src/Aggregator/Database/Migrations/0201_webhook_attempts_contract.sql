-- webhook_attempts is also read (and, in tests, written) by the analytics errors endpoint, whose
-- contract is attempted_at, succeeded and tenant_id only: the delivery details become optional.
ALTER TABLE webhook_attempts
    ALTER COLUMN outbox_id DROP NOT NULL,
    ALTER COLUMN namespace DROP NOT NULL,
    ALTER COLUMN alert_name DROP NOT NULL,
    ALTER COLUMN webhook_name DROP NOT NULL,
    ALTER COLUMN event_type DROP NOT NULL,
    ALTER COLUMN duration_ms DROP NOT NULL;
