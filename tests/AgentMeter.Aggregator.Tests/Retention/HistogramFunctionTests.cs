using AgentMeter.Aggregator.Tests.Infrastructure;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Retention;

/// <summary>agentmeter_histogram_merge / agentmeter_histogram_quantile, the SQL analytics use for multi-day p95.</summary>
public class HistogramFunctionTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private async Task<T> Scalar<T>(string sql) => await UsageSeed.ScalarAsync<T>(db.DataSource, sql);

    [Fact]
    public async Task MergeAddsElementwiseAcrossLengthsAndSkipsNulls()
    {
        var merged = await Scalar<long[]>(
            "SELECT agentmeter_histogram_merge(h) FROM (VALUES ('{1,2,3}'::int[]), ('{0,0,0,0,5}'), (NULL), ('{}'), ('{4}')) v(h)");
        Assert.Equal([5L, 2, 3, 0, 5], merged);
    }

    [Theory]
    [InlineData("{7}", 0.95, 0.5)]            // all below 1 ms: bucket 0's midpoint
    [InlineData("{0,10}", 0.5, 1.125)]        // bucket 1 = [1, 1.25) ms
    [InlineData("{0,1,0,1}", 0.5, 1.44140625)] // halfway between the midpoints of buckets 1 (1.125) and 3 (1.7578125)
    [InlineData("{0,0,0,0,0,0,0,0,0,0,0,1}", 1.0, 10.477378964424133)] // bucket 11 = [1.25^10, 1.25^11): 1.125 × 1.25^10
    public async Task QuantileIsReadFromBucketMidpointsLikePercentileCont(string histogram, double q, double expected)
    {
        var value = await Scalar<double>($"SELECT agentmeter_histogram_quantile('{histogram}'::int[], {q})");
        Assert.Equal(expected, value, 9);
    }

    [Fact]
    public async Task EmptyHistogramHasNoQuantileAndABadQIsAnError()
    {
        Assert.IsType<DBNull>(await Scalar<object>("SELECT agentmeter_histogram_quantile('{0,0}'::int[], 0.95)"));
        var e = await Assert.ThrowsAsync<PostgresException>(() => Scalar<double>("SELECT agentmeter_histogram_quantile('{1}'::int[], 95)"));
        Assert.Contains("q must be between 0 and 1", e.MessageText);
    }

    [Fact]
    public async Task QuantilesOfMergedDailyHistogramsStayWithinTheBoundOfTheExactPercentile()
    {
        // 120 series of 30 days with four latency shapes; daily histograms merged, compared with
        // percentile_cont over all of a series' calls.
        await using var cmd = db.DataSource.CreateCommand(
            """
            WITH samples AS (
                SELECT s, day, CASE s % 4 WHEN 0 THEN exp(random() * 9) WHEN 1 THEN random() * 2
                                          WHEN 2 THEN 200 + random() * 30 ELSE exp(random() * 3) * (1 + day) END AS ms
                FROM generate_series(1, 120) s, generate_series(1, 30) day, generate_series(1, 1 + (s * day) % 17)
            ), daily AS (
                SELECT s, day, agentmeter_latency_histogram(array_agg(agentmeter_latency_bucket(ms))) AS h FROM samples GROUP BY 1, 2
            ), merged AS (
                SELECT s, agentmeter_histogram_merge(h) AS h FROM daily GROUP BY s
            ), exact AS (
                SELECT s, q, percentile_cont(q) WITHIN GROUP (ORDER BY ms) AS p
                FROM samples, unnest(ARRAY[0.5, 0.9, 0.95, 0.99]::float8[]) q GROUP BY s, q
            )
            SELECT e.p, agentmeter_histogram_quantile(m.h, e.q) FROM exact e JOIN merged m USING (s)
            """);
        var checkedCount = 0;
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            var (exact, estimate) = (r.GetDouble(0), r.GetDouble(1));
            Assert.True(Math.Abs(estimate - exact) <= 0.125 * exact + 0.5, $"estimate {estimate} vs exact {exact}");
            checkedCount++;
        }
        Assert.Equal(480, checkedCount);
    }
}
