using System.Text;
using AgentMeter.Aggregator.Ingest;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// The validator reads the usual timestamp from its raw bytes and anything else through the regex
/// and the general parser: both ways must accept and refuse the same values, and agree on the instant.
/// </summary>
public class EventTimeTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static (DateTimeOffset? Time, string? Problem) Read(string timeJson)
    {
        var body = Encoding.UTF8.GetBytes($$"""[{"type":"agent_request","time":{{timeJson}},"agent_id":"a","method":"m"}]""");
        var batch = EventBatchReader.Read(body, ndjson: false, Now, new IngestOptions());
        return (batch.Events.SingleOrDefault()?.Time, batch.Problems.SingleOrDefault()?.Problem);
    }

    [Theory]
    [InlineData("\"2026-11-28T13:05:00Z\"", "2026-11-28T13:05:00.0000000+00:00")]
    [InlineData("\"2026-11-28t13:05:00z\"", "2026-11-28T13:05:00.0000000+00:00")]
    [InlineData("\"2026-11-28 13:05:00Z\"", "2026-11-28T13:05:00.0000000+00:00")]
    [InlineData("\"2026-11-28T13:05:00.123456789Z\"", "2026-11-28T13:05:00.1234560+00:00")]
    [InlineData("\"2026-11-28T13:05:00.5+02:30\"", "2026-11-28T10:35:00.5000000+00:00")]
    [InlineData("\"2026-11-28T13:05:00-01:00\"", "2026-11-28T14:05:00.0000000+00:00")]
    [InlineData("\"2026-11-28T13:05:00\\u005A\"", "2026-11-28T13:05:00.0000000+00:00")] // escaped 'Z'
    public void AcceptedTimesAreReadInUtcToTheMicrosecond(string json, string expected)
    {
        var (time, problem) = Read(json);
        Assert.Null(problem);
        Assert.Equal(expected, time!.Value.ToString("O"));
    }

    [Theory]
    [InlineData("\"2026-11-28T13:05:00\"")]            // no offset
    [InlineData("\"2026-11-28T13:05Z\"")]              // no seconds
    [InlineData("\"2026-11-28T13:05:00.Z\"")]          // empty fraction
    [InlineData("\"2026-11-28T13:05:00.1234567890Z\"")] // 10 fraction digits
    [InlineData("\"2026-11-28T13:05:00+0100\"")]       // offset without colon
    [InlineData("\"2026-13-28T13:05:00Z\"")]           // month 13: the right shape, not a date
    [InlineData("\"2026-11-28X13:05:00Z\"")]
    [InlineData("1764335100")]
    public void OtherValuesAreRefusedWithTheSameProblem(string json)
    {
        var (time, problem) = Read(json);
        Assert.Null(time);
        Assert.Contains("is not an RFC 3339 timestamp", problem);
    }
}
