-- Today live (docs/analytics.md): a day's rows wherever they are. Closed days are in usage_stats
-- (revision >= 0), the days not aggregated yet in usage_stats_live (revision -1, rewritten by the
-- live rollup every few seconds); a day is in one of the two at any time. The rollups of 50_ read
-- a revision of a day from here, so the live rollup runs the same statements as an aggregated day.
CREATE OR REPLACE VIEW usage_stats_current AS
SELECT * FROM usage_stats
UNION ALL
SELECT * FROM usage_stats_live;
