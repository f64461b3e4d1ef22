using AgentMeter.Entities.Domain;
using Npgsql;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Stores one validated batch all-or-nothing and durably (committed before the caller answers),
/// then tells every <see cref="IIngestObserver"/>.
/// </summary>
public sealed class IngestService(NpgsqlDataSource db, EventWriter writer, IEnumerable<IIngestObserver> observers, ILogger<IngestService> log)
{
    public async Task<WriteResult> StoreAsync(IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await EventWriter.EnsurePartitionsAsync(conn, events, ct);
        WriteResult result;
        await using (var tx = await conn.BeginTransactionAsync(ct))
        {
            result = await writer.WriteAsync(conn, tx, events, source, ct);
            await tx.CommitAsync(ct);
        }
        Notify(result.Stored);
        return result;
    }

    /// <summary>Observers run after the commit; one that throws must not turn a stored batch into an error.</summary>
    public void Notify(IReadOnlyList<UsageEvent> stored)
    {
        if (stored.Count == 0) return;
        foreach (var observer in observers)
        {
            try { observer.OnCommitted(stored); }
            catch (Exception e) { log.LogError(e, "Ingest observer {Observer} failed; the batch is stored", observer.GetType().Name); }
        }
    }
}
