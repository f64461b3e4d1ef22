-- Events of a day whose numeric fields lay outside the bounds of Definitions/10_bounded_arithmetic.sql
-- when it was aggregated.
ALTER TABLE aggregated_days ADD COLUMN clamped_events bigint NOT NULL DEFAULT 0;
