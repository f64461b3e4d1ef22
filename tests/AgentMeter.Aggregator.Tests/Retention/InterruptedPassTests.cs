using System.Diagnostics;
using System.Text;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Retention;

/// <summary>
/// The real <c>agentmeter-aggregator retention</c> binary, killed with SIGKILL in the middle of a
/// pass. The test holds row locks on the third month's daily rows, so the child commits two months
/// and then waits on the third: a kill at that moment is deterministic, with no test hook in the code.
/// </summary>
public class InterruptedPassTests
{
    private static Process StartChild(RetentionRig rig, StringBuilder output)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "agentmeter-aggregator.dll"), "retention", "--resources", rig.PolicyFile })
            psi.ArgumentList.Add(a);
        psi.Environment["ConnectionStrings__Postgres"] = rig.ConnectionString;
        psi.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        psi.Environment.Remove("HTTP_PORTS");
        var child = Process.Start(psi)!;
        child.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        child.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return child;
    }

    private static Task<long> MonthsAsync(RetentionRig rig) =>
        UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(DISTINCT month) FROM usage_stats_monthly");

    [Fact]
    public async Task AKilledPassLeavesWholeMonthsAndTheNextPassCompletesTheWork()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var first = new DateOnly(today.Year, today.Month, 1).AddMonths(-14);
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90");
        await UsageSeed.SeedAsync(rig.Db, first, today, groups: 20, maxCallsPerDay: 5);
        var before = await UsageSeed.AllTotalsAsync(rig.Db);
        var oldestDaily = today.AddDays(-90);
        var keepFrom = new DateOnly(oldestDaily.Year, oldestDaily.Month, 1);

        // Hold the third month's rows: the child's delete of that month waits behind this transaction.
        await using var blocker = await rig.Db.OpenConnectionAsync();
        await using var blocking = await blocker.BeginTransactionAsync();
        await using (var lockRows = new NpgsqlCommand("SELECT count(*) FROM (SELECT 1 FROM usage_stats WHERE date >= $1 AND date < $2 FOR UPDATE) locked", blocker, blocking))
        {
            lockRows.Parameters.Add(new NpgsqlParameter { Value = first.AddMonths(2) });
            lockRows.Parameters.Add(new NpgsqlParameter { Value = first.AddMonths(3) });
            await lockRows.ExecuteScalarAsync();
        }

        var output = new StringBuilder();
        using (var child = StartChild(rig, output))
        {
            for (var i = 0; ; i++)
            {
                var waiting = await UsageSeed.ScalarAsync<long>(rig.Db,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
                if (waiting == 1 && await MonthsAsync(rig) == 2) break;
                Assert.False(child.HasExited, $"the pass ended before it could be killed:\n{output}");
                Assert.True(i < 600, $"the child never reached the third month:\n{output}");
                await Task.Delay(100);
            }
            child.Kill(); // SIGKILL: no cleanup, no finally blocks
            await child.WaitForExitAsync();
            Assert.NotEqual(0, child.ExitCode);
        }
        await blocking.RollbackAsync();

        // Killed mid-pass: two whole months moved, the rest untouched, every total intact.
        Assert.Equal(2L, await MonthsAsync(rig));
        Assert.Equal(first.AddMonths(2), await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats"));
        UsageSeed.AssertSameTotals(before, await UsageSeed.AllTotalsAsync(rig.Db));
        Assert.Equal(1L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM job_runs WHERE job = 'retention' AND finished_at IS NULL"));

        // The next run of the binary waits for the dead session's lock to go, then completes the work.
        output.Clear();
        using (var child = StartChild(rig, output))
        {
            Assert.True(child.WaitForExit(TimeSpan.FromSeconds(120)), $"second pass did not finish:\n{output}");
            Assert.True(child.ExitCode == 0, $"second pass exit code {child.ExitCode}:\n{output}");
        }
        Assert.Equal(keepFrom, await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats"));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats WHERE date < $1", keepFrom));
        UsageSeed.AssertSameTotals(before, await UsageSeed.AllTotalsAsync(rig.Db));
        Assert.Equal(
            ["Failed interrupted", "Succeeded"],
            await Runs(rig));
    }

    private static async Task<List<string>> Runs(RetentionRig rig)
    {
        await using var cmd = rig.Db.CreateCommand(
            "SELECT result || CASE WHEN details->>'message' LIKE 'interrupted%' THEN ' interrupted' ELSE '' END FROM job_runs ORDER BY id");
        var runs = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) runs.Add(r.GetString(0));
        return runs;
    }
}
