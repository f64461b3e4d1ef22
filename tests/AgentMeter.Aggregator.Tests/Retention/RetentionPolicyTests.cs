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
        Assert.Equal(new DateOnly(2026, 10, 30), await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats"));
    }

    [Fact]
    public async Task APolicyThatWasNeverValidLeavesTheDefaultsInForce()
    {
        await using var rig = await RetentionRig.StartAsync("schedule: every night\ndailyRetentionDays: 7");

        var problem = Assert.Single(rig.Store.Current.Problems);
        Assert.Equal("spec.schedule", problem.Field);
        var spec = rig.Store.Current.Retention.Spec;
        Assert.Equal(("0 0 * * *", "UTC", 90, true), (spec.Schedule, spec.TimeZone, spec.DailyRetentionDays, spec.MonthlyRollup));
    }
}
