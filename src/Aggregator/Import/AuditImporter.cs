using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.SelfMonitoring;
using AgentMeter.Entities.Domain;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Import;

/// <summary>What one import pass did.</summary>
public sealed record ImportResult(bool Ran, long Imported, long Rejected, long Watermark);

/// <summary>
/// Copies new audit rows (id above the watermark) into usage_events as tool_call events. Rows go
/// through the same validation and writer as <c>POST /api/v1/events</c>; each batch's events, its
/// rejected rows and the new watermark commit in one transaction, so a row is imported exactly once
/// even across crashes and restarts. A row that is not a valid tool call is skipped with a warning
/// naming its id and field, and kept in import_rejected_rows — the import never stalls on it.
/// </summary>
public sealed class AuditImporter(
    NpgsqlDataSource db, ImportSourceDatabase sourceDb, ImportOptions options, IngestOptions ingestOptions, EventWriter writer, IngestService ingest,
    SelfMetrics self, TimeProvider time, ILogger<AuditImporter> log)
{
    public async Task<ImportResult> RunOnceAsync(ImportSource source, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        // One replica imports; the others skip this pass.
        if (!await conn.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_lock(@k)", new { k = AdvisoryLocks.Import }, cancellationToken: ct)))
            return new ImportResult(false, 0, 0, -1);
        try
        {
            var columns = await ColumnsAsync(source, ct);
            long imported = 0, rejected = 0, watermark;
            while (true)
            {
                watermark = await conn.ExecuteScalarAsync<long?>(new CommandDefinition(
                    "SELECT last_id FROM import_watermarks WHERE source = @s", new { s = source.ToString() }, cancellationToken: ct)) ?? 0;
                var rows = await ReadRowsAsync(source, columns, watermark, ct);
                if (rows.Count == 0) break;
                var (events, rejects) = Validate(source, rows);
                var result = (await writer.StoreAsync(conn, [events], "import", async (tx, results) =>
                {
                    await conn.ExecuteAsync(new CommandDefinition(
                        """
                        INSERT INTO import_rejected_rows (source, id, problems) SELECT @s, * FROM unnest(@ids::bigint[], @problems::text[])
                        ON CONFLICT (source, id) DO NOTHING
                        """,
                        new { s = source.ToString(), ids = rejects.Select(r => r.Id).ToArray(), problems = rejects.Select(r => r.Problems).ToArray() },
                        tx, cancellationToken: ct));
                    await conn.ExecuteAsync(new CommandDefinition(
                        """
                        INSERT INTO import_watermarks (source, last_id, imported_rows, rejected_rows, updated_at) VALUES (@s, @last, @n, @r, now())
                        ON CONFLICT (source) DO UPDATE SET last_id = excluded.last_id, updated_at = excluded.updated_at,
                            imported_rows = import_watermarks.imported_rows + excluded.imported_rows,
                            rejected_rows = import_watermarks.rejected_rows + excluded.rejected_rows
                        """,
                        new { s = source.ToString(), last = rows[^1].Id, n = (long)results[0].Stored.Count, r = (long)rejects.Count }, tx, cancellationToken: ct));
                }, ct))[0];
                watermark = rows[^1].Id;
                ingest.Notify(result.Stored);
                self.IngestEvents(SelfMetrics.Import, result.Stored.Count, result.Duplicates, rejects.Count);
                imported += result.Stored.Count;
                rejected += rejects.Count;
                if (rows.Count < options.BatchSize) break;
            }
            if (imported + rejected > 0)
                log.LogInformation("Imported {Imported} audit row(s) from {Source} ({Rejected} rejected), up to id {Watermark}", imported, source, rejected, watermark);
            return new ImportResult(true, imported, rejected, watermark);
        }
        finally
        {
            await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.Import });
        }
    }

    private sealed record Row(long Id, JsonObject Fields);

    private sealed record Reject(long Id, string Problems);

    /// <summary>The optional columns the source has; a missing required column is an error that names it.</summary>
    private async Task<string[]> ColumnsAsync(ImportSource source, CancellationToken ct)
    {
        await using var conn = await sourceDb.DataSource.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"SELECT * FROM {source.Quoted} LIMIT 0", conn);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var present = (await reader.GetColumnSchemaAsync(ct)).Select(c => c.ColumnName).ToHashSet();
        var missing = ImportSource.RequiredColumns.Where(c => !present.Contains(c)).ToList();
        if (missing.Count > 0)
            throw new ImportSourceException(
                $"Import__Source {source} lacks column(s) {string.Join(", ", missing)}: it needs {string.Join(", ", ImportSource.RequiredColumns)} " +
                $"(and may have {string.Join(", ", ImportSource.OptionalColumns)}); adapt it with a view");
        return ImportSource.RequiredColumns.Concat(ImportSource.OptionalColumns.Where(present.Contains)).ToArray();
    }

    private async Task<List<Row>> ReadRowsAsync(ImportSource source, string[] columns, long after, CancellationToken ct)
    {
        await using var conn = await sourceDb.DataSource.OpenConnectionAsync(ct);
        var list = string.Join(", ", columns.Select(c => $"\"{c}\""));
        await using var cmd = new NpgsqlCommand($"SELECT {list} FROM {source.Quoted} WHERE id > $1 ORDER BY id LIMIT $2", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = after });
        cmd.Parameters.Add(new NpgsqlParameter { Value = options.BatchSize });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<Row>();
        while (await reader.ReadAsync(ct))
        {
            var fields = new JsonObject { ["type"] = EventTypes.ToolCall };
            for (var i = 1; i < columns.Length; i++)
                if (!reader.IsDBNull(i)) fields[columns[i]] = ToJson(reader, i);
            rows.Add(new Row(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), fields));
        }
        return rows;
    }

    /// <summary>A column value as the JSON an ingest client would send, so the ingest rules apply unchanged.</summary>
    private static JsonNode? ToJson(DbDataReader reader, int i) => reader.GetValue(i) switch
    {
        DateTime t => JsonValue.Create(DateTime.SpecifyKind(t, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture)),
        DateTimeOffset t => JsonValue.Create(t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture)),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        short or int or long => JsonValue.Create(Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture)),
        float or double or decimal => JsonValue.Create(Convert.ToDouble(reader.GetValue(i), CultureInfo.InvariantCulture)),
        var other => JsonValue.Create(other.ToString()),
    };

    private (List<UsageEvent> Events, List<Reject> Rejects) Validate(ImportSource source, List<Row> rows)
    {
        var events = new List<UsageEvent>(rows.Count);
        var rejects = new List<Reject>();
        var now = time.GetUtcNow();
        foreach (var row in rows)
        {
            var problems = new List<IngestProblem>();
            if (EventValidator.Validate(JsonSerializer.SerializeToUtf8Bytes(row.Fields), 0, now, ingestOptions.MaxClockSkew, problems) is { } ev)
            {
                events.Add(ev);
                continue;
            }
            var text = string.Join("; ", problems.Select(p => $"{p.Field}: {p.Problem}"));
            log.LogWarning("Audit row id {Id} of {Source} skipped: {Problems}", row.Id, source, text);
            rejects.Add(new Reject(row.Id, text));
        }
        return (events, rejects);
    }
}

public sealed class ImportSourceException(string message) : Exception(message);
