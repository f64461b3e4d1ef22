using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Told about every batch once it is committed (ingest and audit import alike), e.g. to update
/// real-time Prometheus metrics. Must be fast and must not throw: it runs on the request path.
/// </summary>
public interface IIngestObserver
{
    void OnCommitted(IReadOnlyList<UsageEvent> events);
}
