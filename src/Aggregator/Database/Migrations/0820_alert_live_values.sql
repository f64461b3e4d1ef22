-- With live traffic every group's value changes every cycle; writing each group's row for that made a
-- cycle of 10,000 alerts write ~100,000 alert_states rows. alert_states now changes only when a group's
-- state does (state, since, firing; its value column is the value at that change), and each alert's
-- evaluation row carries the current value of every group: {"group": value | null}. NULL for rows
-- written before this migration (their groups' values are in alert_states).
ALTER TABLE alert_evaluations ADD COLUMN groups jsonb;
