namespace AgentMeter.Operator.Machinery;

/// <summary>
/// What runs while this replica holds the Lease (the controller): <see cref="LeaderHost"/> starts a new one for
/// every term and cancels it when the Lease is lost.
/// </summary>
public interface ILeaderTerm
{
    /// <summary>True once its caches are filled: <c>/readyz</c> waits for it.</summary>
    bool HasSynced { get; }

    Task RunAsync(CancellationToken ct);
}
