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
/// the column types here are fixed, so the encoding is too. Rows may be written in several parts
/// (a batch copied while it is still being read); the COPY ends with <see cref="CompleteAsync"/>.
/// </summary>
public sealed class EventCopy : IAsyncDisposable
{
    public const string Columns =
        "time, type, event_id, agent_id, tool_name, server_label, user_id, tenant_id, model, status, " +
        "latency_ms, request_bytes, response_bytes, input_tokens, output_tokens, cached_input_tokens, method, state, source";

    private const short FieldCount = 19;
    // Signature "PGCOPY\n\xff\r\n\0", then 32-bit flags (0: no OIDs) and header extension length (0).
    private static readonly byte[] Header = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xff, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly long PostgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private readonly NpgsqlRawCopyStream _copy;
    private readonly byte[] _sourceBytes;
    // Rows go out in pooled chunks: one array per batch (~250 KB for 1,000 events) would land on
    // the large object heap and drive full collections.
    private byte[]? _chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
    private ChunkWriter _buffer;

    private EventCopy(NpgsqlRawCopyStream copy, string source)
    {
        _copy = copy;
        _sourceBytes = Encoding.UTF8.GetBytes(source);
        _buffer = new ChunkWriter(_chunk);
        _buffer.Write(Header);
    }

    /// <summary>Every event in one COPY.</summary>
    public static async Task CopyAsync(NpgsqlConnection conn, string table, IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        if (events.Count == 0) return;
        await using var copy = await BeginAsync(conn, table, source, ct);
        await copy.WriteAsync(events, ct);
        await copy.CompleteAsync(ct);
    }

    /// <summary>Starts a COPY into <paramref name="table"/>; disposed without <see cref="CompleteAsync"/>, it is cancelled (nothing stored).</summary>
    public static async Task<EventCopy> BeginAsync(NpgsqlConnection conn, string table, string source, CancellationToken ct) =>
        // The table name is one of ours (usage_events, a day's partition or the staging table), never input.
        new(await conn.BeginRawBinaryCopyAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)", ct), source);

    /// <summary>Sends the events' rows (the last of them stay buffered until the next write, <see cref="FlushAsync"/> or the end).</summary>
    public async Task WriteAsync(IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        var chunk = _chunk ?? throw new ObjectDisposedException(nameof(EventCopy));
        foreach (var e in events)
        {
            if (_buffer.Free < MaxRowBytes(e)) await SendAsync(chunk, ct);
            WriteRow(ref _buffer, e, _sourceBytes);
        }
    }

    /// <summary>Sends every row written so far now, rather than when a chunk fills up: PostgreSQL starts on them while more are read.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        await SendAsync(_chunk ?? throw new ObjectDisposedException(nameof(EventCopy)), ct);
        await _copy.FlushAsync(ct);
    }

    /// <summary>The buffered rows to the COPY stream; the chunk is then empty again.</summary>
    private async Task SendAsync(byte[] chunk, CancellationToken ct)
    {
        await _copy.WriteAsync(chunk.AsMemory(0, _buffer.Length), ct);
        _buffer = new ChunkWriter(chunk);
    }

    /// <summary>Ends the COPY: PostgreSQL has the rows (and raises here what it refuses, e.g. a unique violation).</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        var chunk = _chunk ?? throw new ObjectDisposedException(nameof(EventCopy));
        _buffer.Int16(-1);
        await SendAsync(chunk, ct);
        // Ended from here on, whatever PostgreSQL answers: a refused COPY is not cancelled again.
        Release();
        await _copy.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_chunk is null) return;
        Release();
        try
        {
            await _copy.CancelAsync();
            await _copy.DisposeAsync();
        }
        catch (NpgsqlException)
        {
            // The connection broke: the COPY's transaction is lost with it, and what broke it is already on its way up.
        }
    }

    private void Release()
    {
        if (_chunk is not null) ArrayPool<byte>.Shared.Return(_chunk);
        _chunk = null;
    }

    private const int ChunkBytes = 64 * 1024;

    /// <summary>An upper bound of a row's encoded size: 4-byte lengths, 8-byte numbers, UTF-8 texts.</summary>
    private static int MaxRowBytes(UsageEvent e) =>
        2 + FieldCount * 12 + 64 + Encoding.UTF8.GetMaxByteCount(
            e.Type.Length + (e.EventId?.Length ?? 0) + (e.AgentId?.Length ?? 0) + (e.ToolName?.Length ?? 0) + (e.ServerLabel?.Length ?? 0) +
            (e.UserId?.Length ?? 0) + (e.TenantId?.Length ?? 0) + (e.Model?.Length ?? 0) + (e.Status?.Length ?? 0) +
            (e.Method?.Length ?? 0) + (e.State?.Length ?? 0));

    private static void WriteRow(ref ChunkWriter buffer, UsageEvent e, byte[] sourceBytes)
    {
        buffer.Int16(FieldCount);
        buffer.Int64Field((e.Time.UtcTicks - PostgresEpochTicks) / (TimeSpan.TicksPerMillisecond / 1000));
        buffer.Text(e.Type);
        buffer.Text(e.EventId);
        buffer.Text(e.AgentId);
        buffer.Text(e.ToolName);
        buffer.Text(e.ServerLabel);
        buffer.Text(e.UserId);
        buffer.Text(e.TenantId);
        buffer.Text(e.Model);
        buffer.Text(e.Status);
        buffer.Int64Field(e.LatencyMs is { } latency ? BitConverter.DoubleToInt64Bits(latency) : null);
        buffer.Int64Field(e.RequestBytes);
        buffer.Int64Field(e.ResponseBytes);
        buffer.Int64Field(e.InputTokens);
        buffer.Int64Field(e.OutputTokens);
        buffer.Int64Field(e.CachedInputTokens);
        buffer.Text(e.Method);
        buffer.Text(e.State);
        buffer.Int32(sourceBytes.Length);
        buffer.Write(sourceBytes);
    }

    /// <summary>Big-endian fields into a fixed chunk; the caller checks there is room for a row first.</summary>
    private struct ChunkWriter(byte[] chunk)
    {
        public int Length { get; private set; }
        public readonly int Free => chunk.Length - Length;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(chunk.AsSpan(Length));
            Length += bytes.Length;
        }

        public void Int16(short value)
        {
            BinaryPrimitives.WriteInt16BigEndian(chunk.AsSpan(Length), value);
            Length += 2;
        }

        public void Int32(int value)
        {
            BinaryPrimitives.WriteInt32BigEndian(chunk.AsSpan(Length), value);
            Length += 4;
        }

        /// <summary>An 8-byte field: bigint, timestamptz (microseconds since 2000-01-01 UTC) or float8 (its bits); null as length -1.</summary>
        public void Int64Field(long? value)
        {
            if (value is not { } v) { Int32(-1); return; }
            Int32(8);
            BinaryPrimitives.WriteInt64BigEndian(chunk.AsSpan(Length), v);
            Length += 8;
        }

        public void Text(string? value)
        {
            if (value is null) { Int32(-1); return; }
            var length = Encoding.UTF8.GetBytes(value, chunk.AsSpan(Length + 4));
            Int32(length);
            Length += length;
        }
    }
}
