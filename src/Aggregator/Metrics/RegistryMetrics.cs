using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// The domain metrics (names and labels exactly as docs/contracts.md lists them), in a registry of this
/// app's own so two hosts in one process never share series. Every label fed from event data goes
/// through a <see cref="BoundedLabel"/>, and every new label combination through the
/// <see cref="SeriesBudget"/>.
/// </summary>
public sealed class RegistryMetrics
{
    /// <summary>Tool-call duration buckets in seconds: 5 ms … 60 s.</summary>
    public static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>Raw label-value pairs remembered per kind of series (see <see cref="SeriesCache{TSeries}"/>).</summary>
    public const int MaxCachedSeries = 10_000;

    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    private readonly Counter _agentRequests;
    private readonly Counter _toolCalls;
    private readonly Histogram _toolDuration;
    private readonly Gauge _circuitBreaker;
    private readonly Gauge _activeSse;
    private readonly Counter _webhookDeliveries;
    private readonly Counter _tokens;
    private readonly Counter _cost;
    private readonly Counter _folded;
    private readonly SeriesBudget _budget;
    private readonly Dictionary<(string Metric, string Label), BoundedLabel> _labels = [];
    private readonly int _maxLabelValues;
    private readonly Lock _sseGate = new();
    private long _sse;

    public RegistryMetrics(MetricsOptions options)
    {
        _maxLabelValues = options.MaxLabelValues;
        // Process and GC basics (CPU, memory, threads, collections), read only when scraped. Not prometheus-net's
        // default registry: its EventCounter and Meter adapters would record every ASP.NET Core and Npgsql
        // instrument on each request.
        DotNetStats.Register(Registry);
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        // No exemplars: an observation made at ingest would carry the trace of the ingest request, not of the
        // tool call it counts, and reading the current trace per observation more than doubled the observer's cost.
        f.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        _folded = f.CreateCounter("agentmeter_metrics_folded_series_total",
            "Distinct label values folded into \"other\" because the label reached Metrics__MaxLabelValues.", "metric", "label");
        _budget = new SeriesBudget(options.MaxSeries, f.CreateCounter("agentmeter_metrics_series_capped_total",
            "Label combinations folded into their metric's overflow series (data labels \"other\") because the domain metrics reached Metrics__MaxSeries.",
            "metric"));
        _agentRequests = f.CreateCounter("registry_agent_requests_total", "Agent requests seen by the registry gateway.", "agent_id", "method");
        _toolCalls = f.CreateCounter("registry_tool_calls_total", "Tool calls by tool, MCP server and status (success|failure).", "tool", "server", "status");
        _toolDuration = f.CreateHistogram("registry_tool_call_duration_seconds", "Tool-call latency in seconds.",
            new HistogramConfiguration { LabelNames = ["tool", "server"], Buckets = DurationBuckets });
        _circuitBreaker = f.CreateGauge("registry_circuit_breaker_state", "Circuit-breaker state per MCP server: 0 closed, 1 open, 2 half-open.", "server");
        _activeSse = f.CreateGauge("registry_active_sse_connections", "Open SSE connections of agents (opened minus closed events).");
        _webhookDeliveries = f.CreateCounter("registry_webhook_deliveries_total",
            "Webhook delivery attempts by status (success|failure) and event type (firing|resolved).", "status", "event_type");
        _tokens = f.CreateCounter("registry_estimated_token_usage_total",
            "Input plus output tokens of tool and model calls (reported, else estimated from bytes per the model's CostRate).", "model", "agent_id");
        _cost = f.CreateCounter("registry_estimated_cost_total",
            "Estimated cost of tool and model calls per the CostRate in force, in the rate's currency.", "model", "agent_id", "currency");
        foreach (var (metric, labels) in new (string, string[])[]
                 {
                     ("registry_agent_requests_total", ["agent_id", "method"]),
                     ("registry_tool_calls_total", ["tool", "server"]),
                     ("registry_tool_call_duration_seconds", ["tool", "server"]),
                     ("registry_circuit_breaker_state", ["server"]),
                     ("registry_estimated_token_usage_total", ["model", "agent_id"]),
                     ("registry_estimated_cost_total", ["model", "agent_id", "currency"]),
                 })
            foreach (var label in labels)
                _labels[(metric, label)] = new BoundedLabel(_maxLabelValues, _folded.WithLabels(metric, label));
        AgentRequests = new SeriesCache<Counter.Child>(MaxCachedSeries, (agentId, method) =>
            Capped(_agentRequests, "registry_agent_requests_total", [L("registry_agent_requests_total", "agent_id", agentId), L("registry_agent_requests_total", "method", method)]));
        Tools = new SeriesCache<ToolSeries>(MaxCachedSeries, (tool, server) => new ToolSeries(this, tool, server));
        Usage = new SeriesCache<UsageSeries>(MaxCachedSeries, (model, agentId) => new UsageSeries(this, model, agentId));
    }

    private string L(string metric, string label, string? value) => _labels[(metric, label)].Apply(value);

    /// <summary>
    /// The series of the (already bounded) data labels followed by the fixed ones, or, past the
    /// series cap, the metric's overflow series: data labels "other", fixed labels kept.
    /// </summary>
    private TChild Capped<TChild>(Collector<TChild> metric, string name, string[] data, params string[] fixedLabels)
        where TChild : ChildBase
    {
        if (!_budget.Admit(name, [.. data, .. fixedLabels])) Array.Fill(data, BoundedLabel.Other);
        return metric.WithLabels([.. data, .. fixedLabels]);
    }

    public SeriesCache<Counter.Child> AgentRequests { get; }
    public SeriesCache<ToolSeries> Tools { get; }
    public SeriesCache<UsageSeries> Usage { get; }

    internal Counter.Child ToolCallsChild(string? tool, string? server, string status) =>
        Capped(_toolCalls, "registry_tool_calls_total", [L("registry_tool_calls_total", "tool", tool), L("registry_tool_calls_total", "server", server)], status);

    internal Histogram.Child ToolCallDurationChild(string? tool, string? server) =>
        Capped(_toolDuration, "registry_tool_call_duration_seconds",
            [L("registry_tool_call_duration_seconds", "tool", tool), L("registry_tool_call_duration_seconds", "server", server)]);

    internal Counter.Child TokensChild(string? model, string? agentId) =>
        Capped(_tokens, "registry_estimated_token_usage_total",
            [L("registry_estimated_token_usage_total", "model", model), L("registry_estimated_token_usage_total", "agent_id", agentId)]);

    internal Counter.Child CostChild(string? model, string? agentId, string currency) =>
        Capped(_cost, "registry_estimated_cost_total", [L("registry_estimated_cost_total", "model", model), L("registry_estimated_cost_total", "agent_id", agentId),
            L("registry_estimated_cost_total", "currency", currency)]);

    public void CircuitBreaker(string? server, string state) =>
        Capped(_circuitBreaker, "registry_circuit_breaker_state", [L("registry_circuit_breaker_state", "server", server)]).Set(state switch
        {
            "open" => 1,
            "half_open" => 2,
            _ => 0,
        });

    /// <summary>
    /// Opened minus closed, never below zero: a close for a connection opened before this process
    /// started must not make the gauge negative.
    /// </summary>
    public void SseConnection(string state)
    {
        lock (_sseGate)
        {
            _sse = state == "opened" ? _sse + 1 : Math.Max(0, _sse - 1);
            _activeSse.Set(_sse);
        }
    }

    public void WebhookDelivery(bool succeeded, string eventType) =>
        _webhookDeliveries.WithLabels(succeeded ? "success" : "failure", eventType).Inc();
}
