-- Audit rows the import could not turn into an event: kept with the reason, never silently dropped.
ALTER TABLE import_watermarks ADD COLUMN imported_rows bigint NOT NULL DEFAULT 0;
ALTER TABLE import_watermarks ADD COLUMN rejected_rows bigint NOT NULL DEFAULT 0;

CREATE TABLE import_rejected_rows (
    source      text NOT NULL,
    id          bigint NOT NULL,
    problems    text NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, id)
);
