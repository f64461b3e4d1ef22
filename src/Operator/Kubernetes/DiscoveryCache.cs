namespace AgentMeter.Operator.Kubernetes;

/// <summary>Whether Prometheus Operator's monitoring.coreos.com/v1 is served, re-read at most every <paramref name="ttl"/>.</summary>
public sealed class DiscoveryCache(ObjectApi api, TimeProvider time, TimeSpan ttl)
{
    public const string MonitoringGroup = "monitoring.coreos.com";
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (bool Served, DateTimeOffset At)? _last;

    public async Task<bool> IsMonitoringServedAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_last is { } last && time.GetUtcNow() - last.At < ttl) return last.Served;
            var served = await api.IsServedAsync(MonitoringGroup, "v1", ct);
            _last = (served, time.GetUtcNow());
            return served;
        }
        finally
        {
            _gate.Release();
        }
    }
}
