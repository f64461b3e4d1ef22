namespace AgentMeter.Aggregator.Database;

/// <summary>Set once migrations ran; readiness and background jobs wait on it.</summary>
public sealed class MigrationState
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public bool Completed => _done.Task.IsCompletedSuccessfully;
    public Task WaitAsync(CancellationToken ct) => _done.Task.WaitAsync(ct);
    public void MarkCompleted() => _done.TrySetResult();
}
