using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Checks one posted event against the fields of its type (docs/core.md, event ingest) and turns it
/// into a <see cref="UsageEvent"/>. Every problem is reported, not just the first; unknown fields
/// are refused so a typo such as <c>input_token</c> never silently falls back to an estimate.
/// </summary>
public static partial class EventValidator
{
    public const int MaxTextLength = 256;
    private static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private enum Kind { Text, Choice, Latency, Count }

    /// <summary>Values a field accepts, as strings and as the UTF-8 they are compared with.</summary>
    private sealed record Choices(params string[] Values)
    {
        public byte[][] Utf8 { get; } = [.. Values.Select(Encoding.UTF8.GetBytes)];
    }

    /// <summary>
    /// A field of an event type. Its value goes in a Draft: texts[Slot] for text and choices,
    /// counts[Slot] for counts.
    /// </summary>
    private sealed record Field(string Name, Kind Kind, bool Required, int Slot, Choices? Accepts = null)
    {
        public byte[] Utf8 { get; } = Encoding.UTF8.GetBytes(Name);
    }

    private static readonly string[] Common = ["type", "time", "event_id"];

    /// <summary>An event type and its fields, in the order problems list them.</summary>
    private sealed record EventType(string Name, Field[] Fields)
    {
        public byte[] Utf8 { get; } = Encoding.UTF8.GetBytes(Name);
        public string FieldList { get; } = string.Join(", ", Common.Concat(Fields.Select(f => f.Name)));
    }

    private const int AgentId = 0, ToolName = 1, ServerLabel = 2, UserId = 3, TenantId = 4, Model = 5, Status = 6, Method = 7, State = 8;
    private const int RequestBytes = 0, ResponseBytes = 1, InputTokens = 2, OutputTokens = 3, CachedInputTokens = 4;

    private static readonly Choices Statuses = new("success", "failure"), BreakerStates = new("closed", "open", "half_open"), SseStates = new("opened", "closed");

    private static readonly EventType[] Types =
    [
        new(EventTypes.ToolCall,
        [
            new("agent_id", Kind.Text, true, AgentId), new("tool_name", Kind.Text, true, ToolName),
            new("server_label", Kind.Text, true, ServerLabel), new("user_id", Kind.Text, false, UserId),
            new("tenant_id", Kind.Text, false, TenantId), new("model", Kind.Text, false, Model),
            new("status", Kind.Choice, true, Status, Statuses), new("latency_ms", Kind.Latency, true, 0),
            // Required unless the matching token count is given (checked below).
            new("request_bytes", Kind.Count, false, RequestBytes), new("response_bytes", Kind.Count, false, ResponseBytes),
            new("input_tokens", Kind.Count, false, InputTokens), new("output_tokens", Kind.Count, false, OutputTokens),
            new("cached_input_tokens", Kind.Count, false, CachedInputTokens),
        ]),
        new(EventTypes.AgentRequest, [new("agent_id", Kind.Text, true, AgentId), new("method", Kind.Text, true, Method)]),
        new(EventTypes.CircuitBreaker, [new("server_label", Kind.Text, true, ServerLabel), new("state", Kind.Choice, true, State, BreakerStates)]),
        new(EventTypes.SseConnection, [new("agent_id", Kind.Text, true, AgentId), new("state", Kind.Choice, true, State, SseStates)]),
        // Its tokens are what the model reported (embeddings: output_tokens 0); no bytes to estimate from.
        new(EventTypes.ModelCall,
        [
            new("agent_id", Kind.Text, true, AgentId), new("model", Kind.Text, true, Model),
            new("user_id", Kind.Text, false, UserId), new("tenant_id", Kind.Text, false, TenantId),
            new("input_tokens", Kind.Count, true, InputTokens), new("output_tokens", Kind.Count, true, OutputTokens),
            new("cached_input_tokens", Kind.Count, false, CachedInputTokens),
        ]),
    ];

    /// <summary>Whether events of the type name a tenant (have a tenant_id field): the only ones a tenant's ingest token may post.</summary>
    public static bool CarriesTenant(string type) =>
        Types.Any(t => t.Name == type && t.Fields.Any(f => f.Slot == TenantId && f.Kind == Kind.Text));

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();

    /// <summary>
    /// One event's values while it is checked; the slots are indexed as in <see cref="Field"/>. One
    /// per thread, cleared for each event (validation never awaits).
    /// </summary>
    private sealed class Draft
    {
        [ThreadStatic] private static Draft? t_draft;
        public readonly string?[] Texts = new string?[9];
        public readonly long?[] Counts = new long?[5];
        public double? Latency;

        public static Draft Fresh()
        {
            var draft = t_draft ??= new Draft();
            Array.Clear(draft.Texts);
            Array.Clear(draft.Counts);
            draft.Latency = null;
            return draft;
        }

        public bool Has(Field field) => field.Kind switch
        {
            Kind.Latency => Latency is not null,
            Kind.Count => Counts[field.Slot] is not null,
            _ => Texts[field.Slot] is not null,
        };
    }

    /// <summary>
    /// One event from the JSON text of one value (an NDJSON line, an imported row): the event, or null
    /// with its problems added to <paramref name="problems"/>. Throws <see cref="JsonException"/> when
    /// the text is not exactly one JSON value.
    /// </summary>
    public static UsageEvent? Validate(ReadOnlySpan<byte> json, int index, DateTimeOffset now, TimeSpan maxSkew, List<IngestProblem> problems)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        var ev = Validate(ref reader, json, index, now, maxSkew, problems);
        reader.Read(); // only white space may follow the value
        return ev;
    }

    /// <summary>
    /// The event whose first token the reader is on (it is left on the event's last token), or null
    /// with its problems added to <paramref name="problems"/>. <paramref name="json"/> is the text the
    /// reader reads, for showing values back. Ingest's hot path: the values are read straight from the
    /// UTF-8, one pass over the object's properties, no per-event dictionaries, closures or documents.
    /// </summary>
    internal static UsageEvent? Validate(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int index, DateTimeOffset now, TimeSpan maxSkew,
        List<IngestProblem> problems)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            problems.Add(new(index, "", $"an event must be a JSON object, got {Describe(reader.TokenType)}"));
            reader.Skip();
            return null;
        }
        // The other fields depend on the type, which may come anywhere. Senders put it first: take the
        // first property without a scan, unless a second "type" turns up (then, as JSON object lookup
        // does, the last one counts: scan for it and start over).
        var start = reader;
        var before = problems.Count;
        var type = reader;
        type.Read();
        if (type.TokenType == JsonTokenType.PropertyName && TextEquals(ref type, "type"u8))
        {
            type.Read();
            if (ValidateObject(ref reader, json, type, typeIsFirst: true, index, now, maxSkew, problems, out var ev)) return ev;
            problems.RemoveRange(before, problems.Count - before);
            reader = start;
        }
        ValidateObject(ref reader, json, LastType(start), typeIsFirst: false, index, now, maxSkew, problems, out var scanned);
        return scanned;
    }

    /// <summary>The reader on the value of the object's last "type" property, or on no token when there is none.</summary>
    private static Utf8JsonReader LastType(Utf8JsonReader reader)
    {
        var type = default(Utf8JsonReader);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isType = TextEquals(ref reader, "type"u8);
            reader.Read();
            if (isType) type = reader;
            reader.Skip();
        }
        return type;
    }

    /// <summary>
    /// Checks the object the reader is on, with its type read from <paramref name="type"/>. False (and
    /// nothing to use) when <paramref name="typeIsFirst"/> and a second "type" property was found.
    /// </summary>
    private static bool ValidateObject(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, Utf8JsonReader type, bool typeIsFirst, int index,
        DateTimeOffset now, TimeSpan maxSkew, List<IngestProblem> problems, out UsageEvent? ev)
    {
        ev = null;
        var before = problems.Count;
        EventType? eventType = null;
        if (type.TokenType == JsonTokenType.None) problems.Add(new(index, "type", "is required"));
        else if ((eventType = TypeOf(ref type)) is null)
            problems.Add(new(index, "type", type.TokenType == JsonTokenType.String && TryGetString(ref type) is null
                ? NotUtf8
                : $"{Show(ref type, json)} is not an event type; accepts {string.Join(", ", EventTypes.All)}"));

        DateTimeOffset? time = null;
        var hasTime = false;
        string? eventId = null;
        var draft = Draft.Fresh();
        var first = true;
        var next = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (TextEquals(ref reader, "type"u8))
            {
                if (typeIsFirst && !first) return false;
                first = false;
                reader.Read();
                reader.Skip();
                continue;
            }
            first = false;
            if (TextEquals(ref reader, "time"u8))
            {
                reader.Read();
                hasTime = true;
                time = Time(ref reader, json, index, now, maxSkew, problems);
            }
            else if (TextEquals(ref reader, "event_id"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Null) eventId = Text(ref reader, json, "event_id", index, problems);
            }
            else if (eventType is null) reader.Read(); // the other fields depend on the type
            else if (FieldOf(eventType, ref reader, ref next) is not { } field)
            {
                problems.Add(TryGetString(ref reader) is { } name
                    ? new(index, name, $"is not a field of {eventType.Name}; accepts {eventType.FieldList}")
                    : new(index, Encoding.UTF8.GetString(reader.ValueSpan), NotUtf8));
                reader.Read();
            }
            else
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Null)
                    switch (field.Kind)
                    {
                        case Kind.Text: draft.Texts[field.Slot] = Text(ref reader, json, field.Name, index, problems, intern: true); break;
                        case Kind.Choice: draft.Texts[field.Slot] = OneOf(ref reader, json, field.Name, field.Accepts!, index, problems); break;
                        case Kind.Latency: draft.Latency = Latency(ref reader, json, field.Name, index, problems); break;
                        case Kind.Count: draft.Counts[field.Slot] = Count(ref reader, json, field.Name, index, problems); break;
                    }
            }
            reader.Skip(); // an object or array value not read above
        }
        if (!hasTime) problems.Add(new(index, "time", "is required"));
        if (eventType is null)
            return true;

        foreach (var field in eventType.Fields)
            if (field.Required && !draft.Has(field) && !HasProblem(problems, before, field.Name))
                problems.Add(new(index, field.Name, "is required"));

        var counts = draft.Counts;
        if (eventType.Name == EventTypes.ToolCall)
        {
            if (counts[RequestBytes] is null && counts[InputTokens] is null && !HasProblem(problems, before, "request_bytes", "input_tokens"))
                problems.Add(new(index, "request_bytes", "is required unless input_tokens is given"));
            if (counts[ResponseBytes] is null && counts[OutputTokens] is null && !HasProblem(problems, before, "response_bytes", "output_tokens"))
                problems.Add(new(index, "response_bytes", "is required unless output_tokens is given"));
        }
        if (!HasProblem(problems, before, "input_tokens") && CachedProblem(counts[CachedInputTokens], counts[InputTokens]) is { } cachedProblem)
            problems.Add(new(index, "cached_input_tokens", cachedProblem));

        if (problems.Count > before || time is not { } at) return true;
        var texts = draft.Texts;
        ev = new UsageEvent
        {
            Type = eventType.Name,
            Time = at,
            EventId = eventId,
            AgentId = texts[AgentId],
            ToolName = texts[ToolName],
            ServerLabel = texts[ServerLabel],
            UserId = texts[UserId],
            TenantId = texts[TenantId],
            Model = texts[Model],
            Status = texts[Status],
            LatencyMs = draft.Latency,
            RequestBytes = counts[RequestBytes],
            ResponseBytes = counts[ResponseBytes],
            InputTokens = counts[InputTokens],
            OutputTokens = counts[OutputTokens],
            CachedInputTokens = counts[CachedInputTokens],
            Method = texts[Method],
            State = texts[State],
        };
        return true;
    }

    /// <summary>
    /// The value rules of <see cref="Validate(ReadOnlySpan{byte}, int, DateTimeOffset, TimeSpan, List{IngestProblem})"/>
    /// for an event built in code from another format (OTLP spans): every value it carries must be
    /// one the JSON reader would accept in that field, its time included. Which fields must be
    /// present is the reader's business (each format names its own sources). Returns the event with
    /// its time as stored (whole microseconds), or null with its problems added.
    /// </summary>
    public static UsageEvent? Check(UsageEvent e, int index, DateTimeOffset now, TimeSpan maxSkew, List<IngestProblem> problems)
    {
        var before = problems.Count;
        EventType? type = null;
        foreach (var t in Types)
            if (t.Name == e.Type) type = t;
        if (type is null) problems.Add(new(index, "type", $"{e.Type} is not an event type; accepts {string.Join(", ", EventTypes.All)}"));
        if (TimeProblem(e.Time, now, maxSkew) is { } timeProblem) problems.Add(new(index, "time", $"{e.Time:O} {timeProblem}"));
        foreach (var field in type?.Fields ?? [])
        {
            string? problem = null;
            switch (field.Kind)
            {
                case Kind.Text when TextOf(e, field.Slot) is { } text:
                    problem = TextProblem(text);
                    break;
                case Kind.Choice when TextOf(e, field.Slot) is { } choice && !field.Accepts!.Values.Contains(choice):
                    problem = $"{choice} is not accepted; accepts {string.Join(", ", field.Accepts.Values)}";
                    break;
                case Kind.Latency when e.LatencyMs is { } ms && !IsLatency(ms):
                    problem = $"{ms} {LatencyProblem}";
                    break;
                case Kind.Count when CountOf(e, field.Slot) is { } n && !IsCount(n):
                    problem = $"{n} {CountProblem}";
                    break;
            }
            if (problem is not null) problems.Add(new(index, field.Name, problem));
        }
        if (CachedProblem(e.CachedInputTokens, e.InputTokens) is { } cachedProblem) problems.Add(new(index, "cached_input_tokens", cachedProblem));
        if (problems.Count > before) return null;
        var stored = StoredTime(e.Time);
        return stored == e.Time && e.Time.Offset == TimeSpan.Zero ? e : e with { Time = stored };
    }

    private static string? TextOf(UsageEvent e, int slot) => slot switch
    {
        AgentId => e.AgentId, ToolName => e.ToolName, ServerLabel => e.ServerLabel, UserId => e.UserId, TenantId => e.TenantId,
        Model => e.Model, Status => e.Status, Method => e.Method, _ => e.State,
    };

    private static long? CountOf(UsageEvent e, int slot) => slot switch
    {
        RequestBytes => e.RequestBytes, ResponseBytes => e.ResponseBytes, InputTokens => e.InputTokens, OutputTokens => e.OutputTokens,
        _ => e.CachedInputTokens,
    };

    /// <summary>Cached input tokens are part of the input tokens: never more, never without them.</summary>
    private static string? CachedProblem(long? cached, long? input) =>
        cached is not { } c ? null
        : input is not { } i ? "needs input_tokens (cached tokens are part of the input tokens)"
        : c > i ? $"{c} is more than input_tokens {i} (cached tokens are part of the input tokens)"
        : null;

    /// <summary>The event type the string value the reader is on names, or null.</summary>
    private static EventType? TypeOf(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String) return null;
        foreach (var type in Types)
            if (TextEquals(ref reader, type.Utf8)) return type;
        return null;
    }

    /// <summary>
    /// The field of <paramref name="type"/> the property name the reader is on names, or null,
    /// compared as raw UTF-8 (names with escapes unescaped). Senders write the fields
    /// in one order, so the search starts after the last match (<paramref name="next"/>).
    /// </summary>
    private static Field? FieldOf(EventType type, ref Utf8JsonReader reader, ref int next)
    {
        var fields = type.Fields;
        for (var n = 0; n < fields.Length; n++)
        {
            var i = (next + n) % fields.Length;
            if (TextEquals(ref reader, fields[i].Utf8))
            {
                next = i + 1;
                return fields[i];
            }
        }
        return null;
    }

    private static bool HasProblem(List<IngestProblem> problems, int from, params ReadOnlySpan<string> fields)
    {
        for (var i = from; i < problems.Count; i++)
            if (fields.Contains(problems[i].Field)) return true;
        return false;
    }

    /// <summary>
    /// The time in UTC, truncated to the microsecond PostgreSQL stores, so a re-sent event compares
    /// equal to the stored one; null with a problem when it is not acceptable.
    /// </summary>
    private static DateTimeOffset? Time(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int index, DateTimeOffset now, TimeSpan maxSkew,
        List<IngestProblem> problems)
    {
        // Fast path for the usual value, without a string: the raw UTF-8 bytes have the RFC 3339
        // shape and System.Text.Json's parser reads them. Anything else (escapes, 't', 'z', a space)
        // goes the general way: the regex holds the shape, DateTimeOffset.TryParse reads it.
        DateTimeOffset time;
        var isString = reader.TokenType == JsonTokenType.String;
        if (!(isString && IsRfc3339(reader.ValueSpan) && reader.TryGetDateTimeOffset(out time)))
        {
            string? text = null;
            if (isString && (text = TryGetString(ref reader)) is null)
            {
                problems.Add(new(index, "time", NotUtf8));
                return null;
            }
            if (text is null || !Rfc3339().IsMatch(text) ||
                !(reader.TryGetDateTimeOffset(out time) || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out time)))
            {
                problems.Add(new(index, "time", $"{Show(ref reader, json)} is not an RFC 3339 timestamp such as 2026-11-28T13:05:00Z"));
                return null;
            }
        }
        if (TimeProblem(time, now, maxSkew) is { } problem)
        {
            problems.Add(new(index, "time", $"{reader.GetString()} {problem}"));
            return null;
        }
        return StoredTime(time);
    }

    private static string? TimeProblem(DateTimeOffset time, DateTimeOffset now, TimeSpan maxSkew) =>
        time > now + maxSkew ? $"is more than {maxSkew} ahead of the server clock ({now:O})"
        : time < Earliest ? "is before 1970-01-01 (a missing or zero timestamp?)"
        : null;

    /// <summary>In UTC, truncated to the microsecond PostgreSQL stores, so a re-sent event compares equal to the stored one.</summary>
    private static DateTimeOffset StoredTime(DateTimeOffset time) =>
        new(time.UtcTicks - time.UtcTicks % (TimeSpan.TicksPerMillisecond / 1000), TimeSpan.Zero);

    /// <summary>The shape of <see cref="Rfc3339"/>, byte by byte, on raw (unescaped) UTF-8.</summary>
    private static bool IsRfc3339(ReadOnlySpan<byte> s)
    {
        if (s.Length < 20) return false;
        for (var i = 0; i < 19; i++)
        {
            var ok = i switch
            {
                4 or 7 => s[i] == '-',
                10 => s[i] is (byte)'T' or (byte)'t' or (byte)' ',
                13 or 16 => s[i] == ':',
                _ => char.IsAsciiDigit((char)s[i]),
            };
            if (!ok) return false;
        }
        var rest = s[19..];
        if (rest[0] == '.')
        {
            var digits = 1;
            while (digits < rest.Length && char.IsAsciiDigit((char)rest[digits])) digits++;
            if (digits is 1 or > 10) return false;
            rest = rest[digits..];
        }
        return rest is [(byte)'Z' or (byte)'z'] ||
               rest is [(byte)'+' or (byte)'-', var h1, var h2, (byte)':', var m1, var m2] &&
               char.IsAsciiDigit((char)h1) && char.IsAsciiDigit((char)h2) && char.IsAsciiDigit((char)m1) && char.IsAsciiDigit((char)m2);
    }

    private const string NotUtf8 = "is not valid UTF-8 text (or escapes half a surrogate pair)";

    /// <summary>The string value the reader is on, or null when it is not valid UTF-8 (or escapes a lone surrogate).</summary>
    private static string? TryGetString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether the string or property name the reader is on is <paramref name="utf8"/> (after
    /// unescaping); false, not an exception, for an escaped unpaired surrogate.
    /// </summary>
    private static bool TextEquals(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8)
    {
        if (!reader.ValueIsEscaped) return reader.ValueSpan.SequenceEqual(utf8);
        try
        {
            return reader.ValueTextEquals(utf8);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string? Text(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, string field, int index, List<IngestProblem> problems, bool intern = false)
    {
        if (reader.TokenType != JsonTokenType.String) { problems.Add(new(index, field, $"must be a string, got {Describe(reader.TokenType)}")); return null; }
        var s = intern ? Interned(ref reader) : TryGetString(ref reader);
        if (s is null) { problems.Add(new(index, field, NotUtf8)); return null; }
        if (TextProblem(s) is { } problem) { problems.Add(new(index, field, problem)); return null; }
        return s;
    }

    private static string? TextProblem(string s) =>
        string.IsNullOrWhiteSpace(s) ? "must not be empty"
        : s.Length > MaxTextLength ? $"is {s.Length} characters long; at most {MaxTextLength}"
        : s.Contains('\0') ? "must not contain the character U+0000 (PostgreSQL text cannot store it)"
        : null;

    private const int MaxInternedLength = 64, MaxInterned = 4096;
    // The dictionary of interned values by their chars (the lookup kept: getting it checks the comparer).
    [ThreadStatic] private static Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> t_interned;

    /// <summary>
    /// The value's string, shared with earlier events on this thread: agents, tools, servers, users,
    /// tenants and models repeat in almost every event, so a batch of 1,000 needs a few dozen strings
    /// instead of thousands. Looked up from the raw ASCII bytes; escapes, other characters and long
    /// values are read the usual way (null when not valid UTF-8).
    /// </summary>
    private static string? Interned(ref Utf8JsonReader reader) =>
        !reader.ValueIsEscaped && InternedAscii(reader.ValueSpan) is { } s ? s : TryGetString(ref reader);

    /// <summary>
    /// The string of plain ASCII text from the per-thread cache (also used by the OTLP reader), or
    /// null when the text is longer than <see cref="MaxInternedLength"/> or not ASCII. Bounded: past
    /// <see cref="MaxInterned"/> the cache starts over.
    /// </summary>
    internal static string? InternedAscii(ReadOnlySpan<byte> ascii)
    {
        Span<char> chars = stackalloc char[MaxInternedLength];
        // Ascii.ToUtf16 stops at a value that is too long or has other characters.
        if (Ascii.ToUtf16(ascii, chars, out var length) != OperationStatus.Done) return null;
        if (t_interned.Dictionary is null) t_interned = new Dictionary<string, string>().GetAlternateLookup<ReadOnlySpan<char>>();
        if (t_interned.TryGetValue(chars[..length], out var s)) return s;
        if (t_interned.Dictionary.Count >= MaxInterned) t_interned.Dictionary.Clear();
        s = new string(chars[..length]);
        t_interned.Dictionary[s] = s;
        return s;
    }

    private static string? OneOf(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, string field, Choices accepted, int index, List<IngestProblem> problems)
    {
        if (reader.TokenType == JsonTokenType.String)
            for (var i = 0; i < accepted.Values.Length; i++)
                if (TextEquals(ref reader, accepted.Utf8[i])) return accepted.Values[i];
        problems.Add(new(index, field, $"{Show(ref reader, json)} is not accepted; accepts {string.Join(", ", accepted.Values)}"));
        return null;
    }

    /// <summary>Milliseconds from 0 to <see cref="EventBounds.MaxLatencyMs"/> (sums of a day stay far from double's range).</summary>
    private static double? Latency(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, string field, int index, List<IngestProblem> problems)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var d) && IsLatency(d)) return d;
        problems.Add(new(index, field, $"{Show(ref reader, json)} {LatencyProblem}"));
        return null;
    }

    /// <summary>A whole number from 0 to <see cref="EventBounds.MaxCount"/> (sums of a day stay within bigint).</summary>
    private static long? Count(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, string field, int index, List<IngestProblem> problems)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n) && IsCount(n)) return n;
        problems.Add(new(index, field, $"{Show(ref reader, json)} {CountProblem}"));
        return null;
    }

    private static bool IsLatency(double ms) => double.IsFinite(ms) && ms is >= 0 and <= EventBounds.MaxLatencyMs;

    private static bool IsCount(long n) => n is >= 0 and <= EventBounds.MaxCount;

    private static readonly string LatencyProblem = $"is not a number of milliseconds from 0 to {EventBounds.MaxLatencyMs:0} (24 hours)";
    private static readonly string CountProblem = $"is not a whole number from 0 to {EventBounds.MaxCount}";

    /// <summary>
    /// The value the reader is on as it was sent (shortened), read past its end; bytes that are not
    /// UTF-8 show as U+FFFD.
    /// </summary>
    private static string Show(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        var raw = Encoding.UTF8.GetString(json[start..(int)reader.BytesConsumed]);
        return raw.Length > 60 ? raw[..57] + "..." : raw;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };
}
