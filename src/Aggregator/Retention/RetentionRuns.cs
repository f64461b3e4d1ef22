using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace AgentMeter.Aggregator.Retention;

/// <summary>Retention passes recorded in <c>job_runs</c> (job = 'retention').</summary>
public static class RetentionRuns
{
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Closes runs left open by a process that died mid-pass. Call only while holding the retention
    /// lock: then no open run can belong to a live pass.
    /// </summary>
    public static async Task<int> CloseInterruptedAsync(NpgsqlConnection conn, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            UPDATE job_runs SET finished_at = $1, result = 'Failed',
                details = coalesce(details, '{}'::jsonb) || jsonb_build_object('message',
                    'interrupted: the process ended before the pass finished; months already committed stay rolled up, the next pass did the rest')
            WHERE job = 'retention' AND finished_at IS NULL
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = now });
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<long> StartAsync(NpgsqlConnection conn, DateTimeOffset startedAt, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO job_runs (job, started_at) VALUES ('retention', $1) RETURNING id", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = startedAt });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public static async Task FinishAsync(NpgsqlConnection conn, long id, DateTimeOffset finishedAt, string result, RetentionRunDetails details, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "UPDATE job_runs SET finished_at = $2, result = $3, details = $4 WHERE id = $1", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        cmd.Parameters.Add(new NpgsqlParameter { Value = finishedAt });
        cmd.Parameters.Add(new NpgsqlParameter { Value = result });
        cmd.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(details, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The most recent finished pass, or null if none finished yet.</summary>
    public static async Task<RetentionRun?> LastAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT started_at, finished_at, result,
                   coalesce((details->>'daysRolledUp')::int, 0), coalesce((details->>'partitionsDropped')::int, 0),
                   coalesce(details->>'message', ''), coalesce(details->'derivedRowsDeleted', '{}')::text
            FROM job_runs WHERE job = 'retention' AND finished_at IS NOT NULL
            ORDER BY started_at DESC, id DESC LIMIT 1
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new RetentionRun(
            reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2),
            reader.GetInt32(3), reader.GetInt32(4), reader.GetString(5),
            JsonSerializer.Deserialize<DerivedRowsDeleted>(reader.GetString(6), Json)!);
    }
}
