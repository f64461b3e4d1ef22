namespace AgentMeter.Aggregator.Webhooks;

/// <summary>Outcome of one delivery attempt. <see cref="Retriable"/> failures are retried with backoff; others dead-letter at once.</summary>
public sealed record DeliveryResult(bool Succeeded, bool Retriable, int? HttpStatus, string? Error)
{
    public static readonly DeliveryResult Success = new(true, false, 200, null);
    public static DeliveryResult Permanent(string error, int? status = null) => new(false, false, status, error);
    public static DeliveryResult Transient(string error, int? status = null) => new(false, true, status, error);
}
