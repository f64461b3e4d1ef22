namespace AgentMeter.Aggregator.Alerts;

/// <summary>Section <c>Alerts</c>.</summary>
public sealed class AlertOptions
{
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>Off: no background evaluation in this process (GET /api/v1/alerts still answers from the database).</summary>
    public bool EvaluatorEnabled { get; set; } = true;
}
