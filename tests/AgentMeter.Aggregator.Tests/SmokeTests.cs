namespace AgentMeter.Aggregator.Tests;

public class SmokeTests
{
    [Fact]
    public void DecimalStringParsesPrices()
    {
        Assert.True(AgentMeter.Entities.Values.DecimalString.TryParse("2.50", out var d));
        Assert.Equal(2.50m, d.Value);
        Assert.False(AgentMeter.Entities.Values.DecimalString.TryParse("2,50", out _));
    }
}
