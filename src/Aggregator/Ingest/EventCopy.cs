using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using AgentMeter.Entities.Domain;
using Npgsql;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Writes events into usage_events (or a table like it) with one binary COPY, encoding the rows
/// in PostgreSQL's documented binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html,
/// "Binary Format") and sending them through Npgsql's raw binary COPY stream. Npgsql's row importer
/// resolves a converter for every field written — the largest single cost of ingest in a profile;
/// the column types here are fixed, so the encoding is too.
/// </summary>
public static class EventCopy
{
    public const string Columns =
        "time, type, event_id, agent_id, tool_name, server_label, user_id, tenant_id, model, status, " +
        "latency_ms, request_bytes, response_bytes, input_tokens, output_tokens, cached_input_tokens, method, state, source";

    private const short FieldCount = 19;
    // Signature "PGCOPY\n\xff\r\n\0", then 32-bit flags (0: no OIDs) and header extension length (0).
    private static readonly byte[] Header = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xff, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly long PostgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    public static async Task CopyAsync(NpgsqlConnection conn, string table, IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        if (events.Count == 0) return;
        var buffer = new ArrayBufferWriter<byte>(events.Count * 256 + Header.Length + 2);
        buffer.Write(Header);
        var sourceBytes = Encoding.UTF8.GetBytes(source);
        foreach (var e in events)
        {
            Int16(buffer, FieldCount);
            Int64Field(buffer, (e.Time.UtcTicks - PostgresEpochTicks) / (TimeSpan.TicksPerMillisecond / 1000));
            Text(buffer, e.Type);
            Text(buffer, e.EventId);
            Text(buffer, e.AgentId);
            Text(buffer, e.ToolName);
            Text(buffer, e.ServerLabel);
            Text(buffer, e.UserId);
            Text(buffer, e.TenantId);
            Text(buffer, e.Model);
            Text(buffer, e.Status);
            if (e.LatencyMs is { } latency) Int64Field(buffer, BitConverter.DoubleToInt64Bits(latency)); else Null(buffer);
            Int64Field(buffer, e.RequestBytes);
            Int64Field(buffer, e.ResponseBytes);
            Int64Field(buffer, e.InputTokens);
            Int64Field(buffer, e.OutputTokens);
            Int64Field(buffer, e.CachedInputTokens);
            Text(buffer, e.Method);
            Text(buffer, e.State);
            Int32(buffer, sourceBytes.Length);
            buffer.Write(sourceBytes);
        }
        Int16(buffer, -1);

        // The table name is one of ours (usage_events or the staging table), never input.
        await using var copy = await conn.BeginRawBinaryCopyAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)", ct);
        await copy.WriteAsync(buffer.WrittenMemory, ct);
    }

    private static void Int16(ArrayBufferWriter<byte> buffer, short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(buffer.GetSpan(2), value);
        buffer.Advance(2);
    }

    private static void Int32(ArrayBufferWriter<byte> buffer, int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    private static void Null(ArrayBufferWriter<byte> buffer) => Int32(buffer, -1);

    /// <summary>An 8-byte field: bigint, timestamptz (microseconds since 2000-01-01 UTC) or float8 (its bits).</summary>
    private static void Int64Field(ArrayBufferWriter<byte> buffer, long? value)
    {
        if (value is not { } v) { Null(buffer); return; }
        var span = buffer.GetSpan(12);
        BinaryPrimitives.WriteInt32BigEndian(span, 8);
        BinaryPrimitives.WriteInt64BigEndian(span[4..], v);
        buffer.Advance(12);
    }

    private static void Text(ArrayBufferWriter<byte> buffer, string? value)
    {
        if (value is null) { Null(buffer); return; }
        var span = buffer.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(value.Length));
        var length = Encoding.UTF8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteInt32BigEndian(span, length);
        buffer.Advance(4 + length);
    }
}
