namespace AgentMeter.Operator.Machinery;

/// <summary>Exponential backoff with ±20 % jitter, so many failing keys or reconnecting watches do not move in lockstep.</summary>
public static class Backoff
{
    /// <summary>The delay before attempt <paramref name="attempt"/> + 1; never shorter than the server's <paramref name="retryAfter"/>.</summary>
    public static TimeSpan Delay(TimeSpan baseDelay, TimeSpan maxDelay, int attempt, TimeSpan? retryAfter = null)
    {
        var exponential = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(exponential, maxDelay.TotalMilliseconds);
        var delay = TimeSpan.FromMilliseconds(capped * (0.8 + 0.4 * Random.Shared.NextDouble()));
        return retryAfter is { } after && after > delay ? after : delay;
    }
}
