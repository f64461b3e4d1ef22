using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Errors;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Resources;
using Npgsql;

namespace AgentMeter.Aggregator.Retention;

/// <summary>Outcome of a pass that ran (a skipped pass has none).</summary>
public sealed record RetentionPassResult(bool Succeeded, RetentionRunDetails Details);

/// <summary>
/// One retention pass under the retention advisory lock: daily rows past dailyRetentionDays into
/// monthly rows (or deleted), monthly rows past monthlyRetentionMonths deleted, raw event partitions
/// past rawEventRetentionDays dropped once their day is aggregated, and the tables derived from them
/// pruned alike (<see cref="DerivedRows"/>). Recorded in job_runs.
/// </summary>
public sealed class RetentionPass(
    NpgsqlDataSource db, ResourceStore resources, RetentionOptions options, TimeProvider time, ILogger<RetentionPass> log)
{
    /// <summary>
    /// Runs a pass with the policy in force. With <paramref name="waitForLock"/> false, returns null
    /// at once when another process holds the lock (another replica is running the pass).
    /// </summary>
    public async Task<RetentionPassResult?> RunAsync(bool waitForLock, CancellationToken ct)
    {
        // One session holds the lock and runs every transaction, so a killed process frees it.
        await using var conn = await db.OpenConnectionAsync(ct);
        if (!await LockAsync(conn, waitForLock, ct))
        {
            log.LogInformation("Retention pass skipped: another process holds the retention lock");
            return null;
        }
        try
        {
            return await RunLockedAsync(conn, resources.Current, ct);
        }
        finally
        {
            if (conn.State == System.Data.ConnectionState.Open)
                await using (var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", conn))
                {
                    unlock.Parameters.Add(new NpgsqlParameter { Value = AdvisoryLocks.Retention });
                    await unlock.ExecuteNonQueryAsync(CancellationToken.None);
                }
        }
    }

    private static async Task<bool> LockAsync(NpgsqlConnection conn, bool wait, CancellationToken ct)
    {
        // Waiting has no timeout: a running pass over a large month may hold the lock for minutes.
        await using var cmd = new NpgsqlCommand(wait ? "SELECT pg_advisory_lock($1) IS NOT NULL" : "SELECT pg_try_advisory_lock($1)", conn);
        if (wait) cmd.CommandTimeout = 0;
        cmd.Parameters.Add(new NpgsqlParameter { Value = AdvisoryLocks.Retention });
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private async Task<RetentionPassResult> RunLockedAsync(NpgsqlConnection conn, ResourceSet resourceSet, CancellationToken ct)
    {
        var started = time.GetUtcNow();
        var interrupted = await RetentionRuns.CloseInterruptedAsync(conn, started, ct);
        if (interrupted > 0)
            log.LogWarning("{Count} earlier retention pass(es) were interrupted; this pass completes their work", interrupted);
        var id = await RetentionRuns.StartAsync(conn, started, ct);
        var details = new RetentionRunDetails();
        if (PolicyInDoubt(resourceSet) is { } reason)
        {
            details.Message = reason;
            log.LogError("Retention pass refused: {Reason}", reason);
            await RetentionRuns.FinishAsync(conn, id, time.GetUtcNow(), RetentionRuns.Failed, details, CancellationToken.None);
            return new RetentionPassResult(false, details);
        }
        var spec = resourceSet.Retention.Spec;
        var cutoffs = RetentionCutoffs.For(spec, started);
        try
        {
            await MoveDailyAsync(conn, spec, cutoffs, details, ct);
            if (cutoffs.MonthlyKeepFrom is { } keepMonths)
                details.MonthlyRowsDeleted = await MonthlyRollup.DropMonthsBeforeAsync(conn, keepMonths, ct);
            await DerivedRows.PruneDailyAsync(conn, cutoffs.DailyKeepFrom, details.DerivedRowsDeleted, ct);
            await DropPartitionsAsync(conn, cutoffs, details, ct);
            await DerivedRows.PruneRawAsync(conn, cutoffs.RawKeepFrom, details.DerivedRowsDeleted, ct);
            details.Message = Summary(details, cutoffs);
            await RetentionRuns.FinishAsync(conn, id, time.GetUtcNow(), RetentionRuns.Succeeded, details, CancellationToken.None);
            log.LogInformation("Retention pass succeeded: {Summary}", details.Message);
            return new RetentionPassResult(true, details);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException && !ct.IsCancellationRequested)
        {
            // Work committed so far stays; the next pass picks up the rest.
            // The status is served over HTTP (and copied into the RetentionPolicy): the error's code, its text in the log.
            details.Message = $"failed after {Summary(details, cutoffs)}: {ErrorAnswers.Describe(e)}";
            log.LogError(e, "Retention pass failed: {Message}", details.Message);
            if (conn.State == System.Data.ConnectionState.Open)
                await RetentionRuns.FinishAsync(conn, id, time.GetUtcNow(), RetentionRuns.Failed, details, CancellationToken.None);
            return new RetentionPassResult(false, details);
        }
    }

    private async Task MoveDailyAsync(NpgsqlConnection conn, RetentionPolicySpec spec, RetentionCutoffs cutoffs, RetentionRunDetails details, CancellationToken ct)
    {
        foreach (var month in await MonthlyRollup.PendingMonthsAsync(conn, cutoffs.DailyKeepFrom, ct))
        {
            // A month already past the monthly retention would be rolled up only to be deleted.
            var rollUp = spec.MonthlyRollup && !(month < cutoffs.MonthlyKeepFrom);
            var change = await MonthlyRollup.MoveAsync(conn, month, cutoffs.DailyKeepFrom, rollUp, ct);
            details.DerivedRowsDeleted.UsageStatsByDimension += change.DimensionRows;
            // A month holding only per-dimension rows (left by an older pass) is no month rolled up.
            if (change.Days == 0) continue;
            if (change.RolledUp)
            {
                details.DaysRolledUp += change.Days;
                details.DailyRowsMoved += change.DailyRows;
                details.MonthsRolledUp.Add(month.ToString("yyyy-MM"));
            }
            else
            {
                details.DaysDeleted += change.Days;
                details.DailyRowsDeleted += change.DailyRows;
            }
            log.LogInformation("Retention: {Action} {Days} day(s), {Rows} daily row(s) of {Month:yyyy-MM}",
                change.RolledUp ? "rolled up" : "deleted", change.Days, change.DailyRows, month);
        }
    }

    private async Task DropPartitionsAsync(NpgsqlConnection conn, RetentionCutoffs cutoffs, RetentionRunDetails details, CancellationToken ct)
    {
        foreach (var partition in await EventPartitions.BeforeAsync(conn, cutoffs.RawKeepFrom, ct))
        {
            var outcome = partition.Aggregated
                ? await EventPartitions.DropAsync(conn, partition, options.PartitionDropLockTimeout, ct)
                : PartitionDrop.NotAggregated;
            switch (outcome)
            {
                case PartitionDrop.Dropped:
                    details.PartitionsDropped++;
                    break;
                case PartitionDrop.Busy:
                    log.LogWarning("Raw event partition {Partition} not dropped: usage_events stayed locked for {Timeout}; the next pass retries",
                        partition.Name, options.PartitionDropLockTimeout);
                    break;
                case PartitionDrop.NotAggregated:
                    details.PartitionsKept.Add(partition.Day.ToString("yyyy-MM-dd"));
                    log.LogWarning(
                        "Raw events of {Day} ({Partition}) are past rawEventRetentionDays but kept: the day is not aggregated yet, " +
                        "and dropping them would lose it. Aggregate it (agentmeter-aggregator aggregate --from {Day}); the next pass drops them",
                        partition.Day.ToString("yyyy-MM-dd"), partition.Name, partition.Day.ToString("yyyy-MM-dd"));
                    break;
            }
        }
    }

    /// <summary>
    /// Why the defaults must not be applied: no RetentionPolicy "default" is in force, yet a document
    /// that may hold it could not be loaded (invalid policy never valid before, unreadable file,
    /// missing --resources path). Running with the defaults then could drop raw events or roll up
    /// days the intended policy keeps. A policy once valid stays in force and is used instead.
    /// </summary>
    private static string? PolicyInDoubt(ResourceSet set)
    {
        if (set.RetentionPolicies.Any(p => p.Metadata.Name == RetentionPolicy.DefaultName)) return null;
        var problem = set.Problems.FirstOrDefault(p => !p.Ignored &&
            (p.Kind is null || (p.Kind == RetentionPolicy.KindName && p.Name is null or RetentionPolicy.DefaultName)));
        return problem is null
            ? null
            : $"the RetentionPolicy \"default\" may be in a document that could not be loaded ({problem}); " +
              "no data is touched until it is fixed, rather than applying the defaults";
    }

    private static string Summary(RetentionRunDetails d, RetentionCutoffs c) =>
        $"{d.DaysRolledUp} day(s) rolled up into {d.MonthsRolledUp.Count} month(s), {d.DaysDeleted} day(s) deleted " +
        $"(daily data kept from {c.DailyKeepFrom:yyyy-MM-dd}), {d.MonthlyRowsDeleted} monthly row(s) deleted" +
        (c.MonthlyKeepFrom is { } m ? $" (kept from {m:yyyy-MM})" : "") +
        $", {d.PartitionsDropped} raw event partition(s) dropped (kept from {c.RawKeepFrom:yyyy-MM-dd})" +
        (d.PartitionsKept.Count > 0 ? $", {d.PartitionsKept.Count} kept because not aggregated" : "") +
        $", {d.DerivedRowsDeleted.Total} row(s) of derived tables deleted";
}
