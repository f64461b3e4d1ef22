using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Database;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Live;

/// <summary>
/// Rolls the days not aggregated yet (today, and yesterday until its grace has passed) up from their raw events
/// into live rows (revision -1), with the statements that aggregate a day: usage_stats_live from
/// <see cref="DailyAggregator.StatsSql"/>, then every <see cref="IDailyRollup"/> (per-dimension, hourly). One
/// transaction per day, holding the day's lock shared, so a refresh and the day's aggregation never interleave:
/// once the day is aggregated it is skipped. A day whose events, latest ingest time and rates are unchanged since its
/// last refresh is left as it is (and the answer cache stays valid).
/// </summary>
public sealed class LiveRollup(
    NpgsqlDataSource db, DailyAggregator aggregator, IEnumerable<IDailyRollup> rollups, AggregationOptions aggregation, LiveOptions options,
    TimeProvider time, ILogger<LiveRollup> log)
{
    /// <summary>Refreshes every live day; returns the days rewritten. A day that fails is logged and the others go on.</summary>
    public async Task<IReadOnlyList<DateOnly>> RefreshAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var today = aggregator.Today;
        var rewritten = new List<DateOnly>();
        foreach (var day in await aggregator.UnaggregatedDaysAsync(conn, today.AddDays(1), ct))
        {
            if (day <= today.AddDays(-options.Days)) continue;
            try
            {
                if (await RefreshDayAsync(conn, day, ct)) rewritten.Add(day);
            }
            catch (Exception e) when (e is not OperationCanceledException && conn.State == System.Data.ConnectionState.Open)
            {
                log.LogError(e, "Live rollup of {Day:yyyy-MM-dd} failed, its answers keep the previous figures until the next refresh: {Message}",
                    day, e.Message);
            }
        }
        return rewritten;
    }

    private async Task<bool> RefreshDayAsync(NpgsqlConnection conn, DateOnly day, CancellationToken ct)
    {
        var pass = new DayPass(day, LiveRows.Revision, "usage_events");
        await using var tx = await conn.BeginTransactionAsync(ct);
        // One refresher at a time, and never beside the day's aggregation: the day's lock shared, which the
        // aggregation takes exclusively (it then waits for this transaction, and later refreshes fail to get it until
        // it is done, so a refresh never starves the aggregation). Skipped when taken: the next refresh comes soon.
        if (!await conn.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT pg_try_advisory_xact_lock(@k) AND pg_try_advisory_xact_lock_shared(@space, @dayKey)",
                new { k = AdvisoryLocks.LiveRefresh, space = AdvisoryLocks.Day, dayKey = AdvisoryLocks.DayKey(day) }, tx, cancellationToken: ct)))
            return false;
        var (aggregated, events, fingerprint, previous) = await conn.QuerySingleAsync<(bool, long, string, string?)>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM aggregated_days WHERE date = @day), e.n,
                   concat(e.n, '/', e.latest, '/', (SELECT md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), '')) FROM agentmeter_rates_on(@day) r)),
                   (SELECT fingerprint FROM live_days WHERE date = @day)
            FROM (SELECT count(*) AS n, max(ingested_at) AS latest FROM usage_events WHERE time >= @start AND time < @end) e
            """, new { day, start = pass.Start, end = pass.End }, tx, cancellationToken: ct));
        if (aggregated || fingerprint == previous) return false;

        await LiveRows.DeleteAsync(conn, tx, day, ct);
        await conn.ExecuteAsync(new CommandDefinition($"SET LOCAL work_mem = '{aggregation.WorkMem}'", transaction: tx, cancellationToken: ct));
        await conn.ExecuteAsync(new CommandDefinition(DailyAggregator.StatsSql(pass.EventsTable, "usage_stats_live"),
            new { day, revision = pass.Revision, start = pass.Start, end = pass.End }, tx, cancellationToken: ct, commandTimeout: 0));
        foreach (var rollup in rollups)
            await rollup.WriteAsync(conn, tx, pass, ct);
        await conn.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO live_days (date, refreshed_at, event_count, fingerprint) VALUES (@day, @now, @events, @fingerprint)
            ON CONFLICT (date) DO UPDATE SET refreshed_at = excluded.refreshed_at, event_count = excluded.event_count,
                fingerprint = excluded.fingerprint
            """, new { day, now = time.GetUtcNow(), events, fingerprint }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        return true;
    }
}
