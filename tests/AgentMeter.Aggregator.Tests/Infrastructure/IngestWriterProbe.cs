using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Infrastructure;

/// <summary>Watches PostgreSQL for the ingest writer, for tests that hold it busy with a table lock.</summary>
public static class IngestWriterProbe
{
    /// <summary>
    /// The backend pid of a writer's COPY waiting on a lock, once there is one (other sessions, such as
    /// the partitions made ahead at start, may wait on the same lock).
    /// </summary>
    public static async Task<int> WaitForBlockedCopyAsync(NpgsqlDataSource db)
    {
        await using var probe = await db.OpenConnectionAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var pid = await probe.ExecuteScalarAsync<int?>(
                "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.query LIKE 'COPY %' LIMIT 1");
            if (pid is not null) return pid.Value;
            Assert.True(DateTime.UtcNow < deadline, "no ingest writer waited on the table lock");
            await Task.Delay(20);
        }
    }
}
