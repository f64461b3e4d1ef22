using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Tests.Retention;

public class RetentionPolicyTests
{
    [Fact]
    public async Task AnInvalidEditIsReportedAndTheLastValidPolicyStaysInForce()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 30\nschedule: \"0 3 * * *\"");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 9, 1), new DateOnly(2026, 11, 29));
        Assert.Equal(30, rig.Store.Current.Retention.Spec.DailyRetentionDays);

        rig.WritePolicy("dailyRetentionDays: 0\ntimeZone: Mars/Olympus\nschedule: \"0 3 * * *\"");

        Assert.Contains(rig.Store.Current.Problems, p => p.Kind == RetentionPolicy.KindName && p.Field == "spec.dailyRetentionDays");
        Assert.Contains(rig.Store.Current.Problems, p => p.Field == "spec.timeZone" && p.Problem.Contains("Mars/Olympus"));
        var inForce = rig.Store.Current.Retention.Spec;
        Assert.Equal(30, inForce.DailyRetentionDays);
        Assert.Equal("UTC", inForce.TimeZone);

        var result = await rig.RunAsync();
        Assert.True(result.Succeeded);
        // 30 days, not the 0 of the broken edit: today − 30 is 30 October, so September and before roll up.
        Assert.Equal(new DateOnly(2026, 10, 1), await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats"));
    }

    [Fact]
    public async Task APolicyThatWasNeverValidStopsThePassInsteadOfApplyingTheDefaults()
    {
        // rawEventRetentionDays 400 was meant; the defaults would drop raw events after 90 days.
        await using var rig = await RetentionRig.StartAsync("schedule: every night\nrawEventRetentionDays: 400");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 7, 1), new DateOnly(2026, 8, 31), groups: 4);
        await using (var conn = await rig.Db.OpenConnectionAsync())
            await UsageSeed.ExecAsync(conn, "SELECT agentmeter_ensure_event_partition('2026-07-01')");
        var before = await UsageSeed.AllTotalsAsync(rig.Db);

        var problem = Assert.Single(rig.Store.Current.Problems);
        Assert.Equal("spec.schedule", problem.Field);
        var result = await rig.RunAsync();

        Assert.False(result.Succeeded);
        Assert.Contains("spec.schedule", result.Details.Message);
        Assert.Contains("no data is touched", result.Details.Message);
        UsageSeed.AssertSameTotals(before, await UsageSeed.AllTotalsAsync(rig.Db));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_monthly"));
        Assert.Equal(1L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM pg_class WHERE relname = 'usage_events_20260701'"));
        Assert.Equal("Failed", await UsageSeed.ScalarAsync<string>(rig.Db, "SELECT result FROM job_runs"));

        // Fixed: the next pass runs with it.
        rig.WritePolicy("schedule: \"0 1 * * *\"\nrawEventRetentionDays: 400");
        var fixedPass = await rig.RunAsync();
        Assert.True(fixedPass.Succeeded, fixedPass.Details.Message);
        Assert.Equal(1L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM pg_class WHERE relname = 'usage_events_20260701'"));
        Assert.True(fixedPass.Details.DaysRolledUp > 0);
    }

    [Fact]
    public async Task AResourcesPathThatIsGoneStopsThePassToo()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 400");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 7, 1), new DateOnly(2026, 7, 31), groups: 4);
        Directory.Delete(rig.ResourceDirectory, recursive: true); // e.g. the ConfigMap mount went away
        rig.Store.Reload();

        var result = await rig.RunAsync();

        Assert.False(result.Succeeded);
        Assert.Contains("no such file or folder", result.Details.Message);
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_monthly"));
    }

    [Fact]
    public async Task WithNoPolicyAnywhereTheDefaultsApply()
    {
        await using var rig = await RetentionRig.StartAsync();
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 7, 1), new DateOnly(2026, 9, 30), groups: 4);

        var result = await rig.RunAsync();

        Assert.True(result.Succeeded, result.Details.Message);
        // 90 days: today − 90 is 31 August, so July is the last whole month to go.
        Assert.Equal(new DateOnly(2026, 8, 1), await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats"));
    }

    [Fact]
    public async Task ADocumentOfAnotherGroupCannotHoldThePolicySoTheDefaultsApply()
    {
        await using var rig = await RetentionRig.StartAsync();
        // Its kind cannot be read, but its apiVersion says it is not ours: listed as ignored, not a doubt.
        File.WriteAllText(Path.Combine(rig.ResourceDirectory, "other.yaml"), "apiVersion: v1\ndata: {retention: forever}\n");
        rig.Store.Reload();
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 7, 1), new DateOnly(2026, 9, 30), groups: 4);

        Assert.True(Assert.Single(rig.Store.Current.Problems).Ignored);
        var result = await rig.RunAsync();

        Assert.True(result.Succeeded, result.Details.Message);
        Assert.Equal(new DateOnly(2026, 8, 1), await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats"));
    }
}
