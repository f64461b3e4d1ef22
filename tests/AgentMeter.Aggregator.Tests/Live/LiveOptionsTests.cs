using AgentMeter.Aggregator.Live;

namespace AgentMeter.Aggregator.Tests.Live;

public sealed class LiveOptionsTests
{
    [Theory]
    // Short refreshes rest four times their length at the default share of 0.2.
    [InlineData(0.5, 2.0)]
    [InlineData(2, 8)]
    [InlineData(10, 40)]
    // Longer ones rest only as long as keeps a call within a minute: it waits for the rest and the next refresh.
    [InlineData(20, 20)]
    [InlineData(29, 2)]
    [InlineData(30, 0)]
    [InlineData(45, 0)]
    public void ARefreshRestsForItsShareButNeverPastAMinuteOfAge(double tookSeconds, double restSeconds)
    {
        var rest = new LiveOptions().RestAfter(TimeSpan.FromSeconds(tookSeconds));
        Assert.Equal(TimeSpan.FromSeconds(restSeconds), rest);
        if (rest > TimeSpan.Zero) Assert.True(rest + 2 * TimeSpan.FromSeconds(tookSeconds) <= LiveOptions.MaxAge);
    }

    [Fact]
    public void ShareOneRunsBackToBack() => Assert.Equal(TimeSpan.Zero, new LiveOptions { MaxShare = 1 }.RestAfter(TimeSpan.FromSeconds(3)));
}
