using Npgsql;

namespace AgentMeter.Aggregator.Retention;

/// <summary>One UTC day partition of <c>usage_events</c>, and whether its day is aggregated yet.</summary>
public sealed record EventPartition(string Name, DateOnly Day, bool Aggregated);

public enum PartitionDrop { Dropped, NotAggregated, Busy }

/// <summary>
/// Raw events go by dropping whole day partitions (no DELETE, so no dead tuples and no vacuum
/// debt), and only once their day is in <c>aggregated_days</c>; the duplicate check's index on the
/// day's event ids goes with them.
/// </summary>
public static class EventPartitions
{
    /// <summary>Day partitions (named by agentmeter_event_partition_name) older than <paramref name="keepFrom"/>, oldest first.</summary>
    public static async Task<IReadOnlyList<EventPartition>> BeforeAsync(NpgsqlConnection conn, DateOnly keepFrom, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT p.name, p.day, EXISTS (SELECT 1 FROM aggregated_days a WHERE a.date = p.day)
            FROM (
                SELECT c.relname::text AS name, to_date(substring(c.relname FROM '^usage_events_(\d{8})$'), 'YYYYMMDD') AS day
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'usage_events'::regclass
            ) p
            -- Only tables named exactly as the partition of their day; anything else is not ours to drop.
            WHERE p.day IS NOT NULL AND p.name = agentmeter_event_partition_name(p.day) AND p.day < $1
            ORDER BY p.day
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = keepFrom });
        var found = new List<EventPartition>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            found.Add(new EventPartition(reader.GetString(0), reader.GetFieldValue<DateOnly>(1), reader.GetBoolean(2)));
        return found;
    }

    /// <summary>
    /// Drops the partition if its day is aggregated, checked in the same transaction. A short lock
    /// timeout keeps ingest, which needs the parent table, from queueing behind the drop: when it
    /// expires the partition is left for the next pass (<see cref="PartitionDrop.Busy"/>).
    /// </summary>
    public static async Task<PartitionDrop> DropAsync(NpgsqlConnection conn, EventPartition partition, TimeSpan lockTimeout, CancellationToken ct)
    {
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var timeout = new NpgsqlCommand($"SET LOCAL lock_timeout = {(long)lockTimeout.TotalMilliseconds}", conn, tx))
            await timeout.ExecuteNonQueryAsync(ct);
        await using (var check = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM aggregated_days WHERE date = $1)", conn, tx))
        {
            check.Parameters.Add(new NpgsqlParameter { Value = partition.Day });
            if (await check.ExecuteScalarAsync(ct) is not true) return PartitionDrop.NotAggregated;
        }
        try
        {
            // The name matched ^usage_events_\d{8}$ and agentmeter_event_partition_name: safe to quote.
            await using var drop = new NpgsqlCommand($"DROP TABLE \"{partition.Name}\"", conn, tx);
            await drop.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            return PartitionDrop.Busy;
        }
        await tx.CommitAsync(ct);
        return PartitionDrop.Dropped;
    }
}
