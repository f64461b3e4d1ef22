using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Ingest;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>Text values come from a per-thread cache when they are plain ASCII: every value must still read back exactly.</summary>
public class EventTextTests
{
    private static IReadOnlyList<AgentMeter.Entities.Domain.UsageEvent> Read(IEnumerable<object> events)
    {
        var batch = EventBatchReader.Read(JsonSerializer.SerializeToUtf8Bytes(events), ndjson: false,
            new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero), new IngestOptions { MaxBatchEvents = 20_000 });
        Assert.Empty(batch.Problems);
        return batch.Events;
    }

    [Fact]
    public void RepeatedDistinctEscapedAndLongValuesReadBackExactly()
    {
        string[] agents = ["agent-a", "agent-a", "agent-é", "tab\there", "quote\"d", new string('x', 200), "agent-a"];
        var events = Read(agents.Select(a => new { type = "agent_request", time = "2026-11-29T10:00:00Z", agent_id = a, method = "m" }));
        Assert.Equal(agents, events.Select(e => e.AgentId));
        // Equal plain values are one string.
        Assert.Same(events[0].AgentId, events[6].AgentId);
    }

    [Fact]
    public void MoreDistinctValuesThanTheCacheHoldsStayCorrect()
    {
        var agents = Enumerable.Range(0, 10_000).Select(i => $"agent-{i}").ToList();
        var events = Read(agents.Concat(agents).Select(a => new { type = "agent_request", time = "2026-11-29T10:00:00Z", agent_id = a, method = "m" }));
        Assert.Equal(agents.Concat(agents), events.Select(e => e.AgentId));
    }
}
