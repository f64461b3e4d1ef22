namespace AgentMeter.Operator.Tests;

public class SmokeTests
{
    [Fact]
    public void DurationParsesCompoundValues()
    {
        Assert.True(AgentMeter.Entities.Values.Duration.TryParse("1h30m", out var d));
        Assert.Equal(TimeSpan.FromMinutes(90), d);
        Assert.False(AgentMeter.Entities.Values.Duration.TryParse("1x", out _));
    }
}
