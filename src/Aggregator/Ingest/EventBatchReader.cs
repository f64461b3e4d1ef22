using System.Text.Json;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>A posted body read and validated: the events, or every problem found.</summary>
public sealed record EventBatch(IReadOnlyList<UsageEvent> Events, IReadOnlyList<IngestProblem> Problems, string? TooLarge = null);

/// <summary>Reads a JSON array or NDJSON (one event per line, blank lines ignored) of events.</summary>
public static class EventBatchReader
{
    public static bool IsNdjson(string? contentType) =>
        contentType is not null &&
        (contentType.StartsWith("application/x-ndjson", StringComparison.OrdinalIgnoreCase) ||
         contentType.StartsWith("application/jsonl", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The events of the body, or every problem found. A <paramref name="stream"/> is offered the events as
    /// they are read, as long as no problem has been found (<see cref="StreamedBatch.Offer"/>).
    /// </summary>
    public static EventBatch Read(ReadOnlyMemory<byte> body, bool ndjson, DateTimeOffset now, IngestOptions options, StreamedBatch? stream = null) =>
        ndjson ? ReadNdjson(body, now, options, stream) : ReadArray(body, now, options, stream);

    /// <summary>
    /// One pass of a reader over the body: events are checked as they are read, and the whole body
    /// must still be valid JSON (any syntax error makes it unreadable, whatever else was found).
    /// </summary>
    private static EventBatch ReadArray(ReadOnlyMemory<byte> body, DateTimeOffset now, IngestOptions options, StreamedBatch? stream)
    {
        var json = body.Span;
        var events = new List<UsageEvent>();
        var problems = new List<IngestProblem>();
        var count = 0;
        try
        {
            var reader = new Utf8JsonReader(json);
            reader.Read();
            var isArray = reader.TokenType == JsonTokenType.StartArray;
            if (!isArray) reader.Skip();
            else
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    // Past the limit the batch gets 413 with its size: only count the rest.
                    if (count >= options.MaxBatchEvents) reader.Skip();
                    else if (EventValidator.Validate(ref reader, json, count, now, options.MaxClockSkew, problems) is { } ev)
                    {
                        events.Add(ev);
                        if (problems.Count == 0) stream?.Offer(events);
                    }
                    count++;
                }
            reader.Read(); // only white space may follow the value
            if (!isArray)
                return Unreadable(new IngestProblem(null, "body",
                    "must be a JSON array of events (or NDJSON with Content-Type application/x-ndjson)"));
        }
        catch (JsonException e)
        {
            return Unreadable(new IngestProblem(null, "body",
                $"is not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}; send a JSON array of events, or NDJSON with Content-Type application/x-ndjson"));
        }
        return count > options.MaxBatchEvents ? TooMany(count, options) : new EventBatch(events, problems);
    }

    private static EventBatch ReadNdjson(ReadOnlyMemory<byte> body, DateTimeOffset now, IngestOptions options, StreamedBatch? stream)
    {
        var lines = Lines(body.Span);
        if (lines.Count > options.MaxBatchEvents) return TooMany(lines.Count, options);
        var events = new List<UsageEvent>(lines.Count);
        var problems = new List<IngestProblem>();
        for (var i = 0; i < lines.Count; i++)
        {
            var before = problems.Count;
            try
            {
                if (EventValidator.Validate(body.Span.Slice(lines[i].Start, lines[i].Length), i, now, options.MaxClockSkew, problems) is { } ev)
                {
                    events.Add(ev);
                    if (problems.Count == 0) stream?.Offer(events);
                }
            }
            catch (JsonException e)
            {
                // A line that is not JSON has that one problem, not also what was found before the error.
                problems.RemoveRange(before, problems.Count - before);
                problems.Add(new IngestProblem(i, "", $"line is not valid JSON at byte {e.BytePositionInLine + 1}: one JSON object per line"));
            }
        }
        return new EventBatch(events, problems);
    }

    /// <summary>Non-blank lines as (start, length).</summary>
    private static List<(int Start, int Length)> Lines(ReadOnlySpan<byte> body)
    {
        var lines = new List<(int, int)>();
        var start = 0;
        while (start < body.Length)
        {
            var end = body[start..].IndexOf((byte)'\n');
            var length = end < 0 ? body.Length - start : end;
            if (!body.Slice(start, length).Trim(" \t\r"u8).IsEmpty) lines.Add((start, length));
            start += length + 1;
        }
        return lines;
    }

    private static EventBatch Unreadable(IngestProblem problem) => new([], [problem]);

    private static EventBatch TooMany(int count, IngestOptions options) =>
        new([], [], $"the batch has {count} events; at most {options.MaxBatchEvents} per request (Ingest__MaxBatchEvents): split it");
}
