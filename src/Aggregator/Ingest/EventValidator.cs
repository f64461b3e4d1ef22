using System.Buffers;
using System.Globalization;
using System.Text;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Checks one posted event against the fields of its type (DESIGN.md, event ingest) and turns it
/// into a <see cref="UsageEvent"/>. Every problem is reported, not just the first; unknown fields
/// are refused so a typo such as <c>input_token</c> never silently falls back to an estimate.
/// </summary>
public static partial class EventValidator
{
    public const int MaxTextLength = 256;
    private static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private enum Kind { Text, Status, BreakerState, SseState, Latency, Count }

    // Where a field's value goes in a Draft: texts[Slot] for the text kinds, counts[Slot] for counts.
    private sealed record Field(Kind Kind, bool Required, int Slot);

    private const int AgentId = 0, ToolName = 1, ServerLabel = 2, UserId = 3, TenantId = 4, Model = 5, Status = 6, Method = 7, State = 8;
    private const int RequestBytes = 0, ResponseBytes = 1, InputTokens = 2, OutputTokens = 3, CachedInputTokens = 4;

    private static readonly Dictionary<string, Dictionary<string, Field>> FieldsByType = new()
    {
        [EventTypes.ToolCall] = new()
        {
            ["agent_id"] = new(Kind.Text, true, AgentId), ["tool_name"] = new(Kind.Text, true, ToolName),
            ["server_label"] = new(Kind.Text, true, ServerLabel), ["user_id"] = new(Kind.Text, false, UserId),
            ["tenant_id"] = new(Kind.Text, false, TenantId), ["model"] = new(Kind.Text, false, Model),
            ["status"] = new(Kind.Status, true, Status), ["latency_ms"] = new(Kind.Latency, true, 0),
            // Required unless the matching token count is given (checked below).
            ["request_bytes"] = new(Kind.Count, false, RequestBytes), ["response_bytes"] = new(Kind.Count, false, ResponseBytes),
            ["input_tokens"] = new(Kind.Count, false, InputTokens), ["output_tokens"] = new(Kind.Count, false, OutputTokens),
            ["cached_input_tokens"] = new(Kind.Count, false, CachedInputTokens),
        },
        [EventTypes.AgentRequest] = new() { ["agent_id"] = new(Kind.Text, true, AgentId), ["method"] = new(Kind.Text, true, Method) },
        [EventTypes.CircuitBreaker] = new() { ["server_label"] = new(Kind.Text, true, ServerLabel), ["state"] = new(Kind.BreakerState, true, State) },
        [EventTypes.SseConnection] = new() { ["agent_id"] = new(Kind.Text, true, AgentId), ["state"] = new(Kind.SseState, true, State) },
    };

    private static readonly string[] Common = ["type", "time", "event_id"];
    private static readonly string[] Statuses = ["success", "failure"], BreakerStates = ["closed", "open", "half_open"], SseStates = ["opened", "closed"];

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
    /// The event, or null with its problems added to <paramref name="problems"/>. Ingest's hot path:
    /// one pass over the object's properties, no per-event dictionaries or closures.
    /// </summary>
    public static UsageEvent? Validate(JsonElement e, int index, DateTimeOffset now, TimeSpan maxSkew, List<IngestProblem> problems)
    {
        var before = problems.Count;
        if (e.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new(index, "", $"an event must be a JSON object, got {Describe(e.ValueKind)}"));
            return null;
        }

        string? type = null;
        Dictionary<string, Field>? fields = null;
        if (!e.TryGetProperty("type", out var typeEl)) problems.Add(new(index, "type", "is required"));
        else if (typeEl.ValueKind != JsonValueKind.String || !FieldsByType.TryGetValue(typeEl.GetString()!, out fields))
            problems.Add(new(index, "type", $"{Show(typeEl)} is not an event type; accepts {string.Join(", ", EventTypes.All)}"));
        else type = typeEl.GetString();

        DateTimeOffset? time = null;
        string? eventId = null;
        var draft = Draft.Fresh();
        Span<char> names = stackalloc char[MaxFieldNameLength];
        foreach (var prop in e.EnumerateObject())
        {
            var value = prop.Value;
            if (prop.NameEquals("type"u8)) continue;
            if (prop.NameEquals("time"u8)) { time = Time(value, index, now, maxSkew, problems); continue; }
            if (prop.NameEquals("event_id"u8))
            {
                if (value.ValueKind != JsonValueKind.Null) eventId = Text(value, "event_id", index, problems);
                continue;
            }
            if (fields is null) continue; // the other fields depend on the type
            if (!TryGetField(fields, prop, names, out var field, out var name))
            {
                problems.Add(new(index, prop.Name, $"is not a field of {type}; accepts {string.Join(", ", Common.Concat(fields.Keys))}"));
                continue;
            }
            if (value.ValueKind == JsonValueKind.Null) continue;
            switch (field.Kind)
            {
                case Kind.Text: draft.Texts[field.Slot] = Text(value, name, index, problems, intern: true); break;
                case Kind.Status: draft.Texts[field.Slot] = OneOf(value, name, Statuses, index, problems); break;
                case Kind.BreakerState: draft.Texts[field.Slot] = OneOf(value, name, BreakerStates, index, problems); break;
                case Kind.SseState: draft.Texts[field.Slot] = OneOf(value, name, SseStates, index, problems); break;
                case Kind.Latency: draft.Latency = Latency(value, name, index, problems); break;
                case Kind.Count: draft.Counts[field.Slot] = Count(value, name, index, problems); break;
            }
        }
        if (time is null && !e.TryGetProperty("time", out _)) problems.Add(new(index, "time", "is required"));
        if (type is null || fields is null)
            return null;

        foreach (var (name, field) in fields)
            if (field.Required && !draft.Has(field) && !HasProblem(problems, before, name))
                problems.Add(new(index, name, "is required"));

        var counts = draft.Counts;
        if (type == EventTypes.ToolCall)
        {
            if (counts[RequestBytes] is null && counts[InputTokens] is null && !HasProblem(problems, before, "request_bytes", "input_tokens"))
                problems.Add(new(index, "request_bytes", "is required unless input_tokens is given"));
            if (counts[ResponseBytes] is null && counts[OutputTokens] is null && !HasProblem(problems, before, "response_bytes", "output_tokens"))
                problems.Add(new(index, "response_bytes", "is required unless output_tokens is given"));
            if (counts[CachedInputTokens] is { } cached)
            {
                if (counts[InputTokens] is not { } input)
                    problems.Add(new(index, "cached_input_tokens", "needs input_tokens (cached tokens are part of the input tokens)"));
                else if (cached > input)
                    problems.Add(new(index, "cached_input_tokens", $"{cached} is more than input_tokens {input} (cached tokens are part of the input tokens)"));
            }
        }

        if (problems.Count > before || time is not { } at) return null;
        var texts = draft.Texts;
        return new UsageEvent
        {
            Type = type,
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
    }

    private const int MaxFieldNameLength = 32;

    /// <summary>
    /// The field a property names, looked up from its raw ASCII bytes without allocating a string
    /// (names with escapes or other characters go through <see cref="JsonProperty.Name"/>).
    /// </summary>
    private static bool TryGetField(Dictionary<string, Field> fields, JsonProperty prop, Span<char> buffer, out Field field, out string name)
    {
        var length = PlainAscii(JsonMarshal.GetRawUtf8PropertyName(prop), buffer);
        var found = length >= 0
            ? fields.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(buffer[..length], out name!, out field!)
            : fields.TryGetValue(name = prop.Name, out field!);
        name ??= prop.Name;
        return found;
    }

    /// <summary>
    /// Raw JSON text (a name or a string's contents) as chars in <paramref name="buffer"/>: its length, or
    /// -1 when it does not fit, has an escape or is not ASCII (then the caller reads it the usual way).
    /// </summary>
    private static int PlainAscii(ReadOnlySpan<byte> raw, Span<char> buffer) =>
        raw.Length <= buffer.Length && !raw.Contains((byte)'\\') && Ascii.ToUtf16(raw, buffer, out var length) == OperationStatus.Done
            ? length
            : -1;

    private static bool HasProblem(List<IngestProblem> problems, int from, params string[] fields)
    {
        for (var i = from; i < problems.Count; i++)
            if (fields.Contains(problems[i].Field)) return true;
        return false;
    }

    /// <summary>
    /// The time in UTC, truncated to the microsecond PostgreSQL stores, so a re-sent event compares
    /// equal to the stored one; null with a problem when it is not acceptable.
    /// </summary>
    private static DateTimeOffset? Time(JsonElement el, int index, DateTimeOffset now, TimeSpan maxSkew, List<IngestProblem> problems)
    {
        // Fast path for the usual value, without a string: the raw UTF-8 bytes have the RFC 3339
        // shape and System.Text.Json's parser reads them. Anything else (escapes, 't', 'z', a space)
        // goes the general way: the regex holds the shape, DateTimeOffset.TryParse reads it.
        DateTimeOffset time;
        if (!(el.ValueKind == JsonValueKind.String && IsRfc3339(JsonMarshal.GetRawUtf8Value(el)[1..^1]) && el.TryGetDateTimeOffset(out time)))
        {
            var text = el.ValueKind == JsonValueKind.String ? el.GetString()! : null;
            if (text is null || !Rfc3339().IsMatch(text) ||
                !(el.TryGetDateTimeOffset(out time) || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out time)))
            {
                problems.Add(new(index, "time", $"{Show(el)} is not an RFC 3339 timestamp such as 2026-11-28T13:05:00Z"));
                return null;
            }
        }
        if (time > now + maxSkew)
        {
            problems.Add(new(index, "time", $"{el.GetString()} is more than {maxSkew} ahead of the server clock ({now:O})"));
            return null;
        }
        if (time < Earliest)
        {
            problems.Add(new(index, "time", $"{el.GetString()} is before 1970-01-01 (a missing or zero timestamp?)"));
            return null;
        }
        return new DateTimeOffset(time.UtcTicks - time.UtcTicks % (TimeSpan.TicksPerMillisecond / 1000), TimeSpan.Zero);
    }

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

    private static string? Text(JsonElement el, string field, int index, List<IngestProblem> problems, bool intern = false)
    {
        if (el.ValueKind != JsonValueKind.String) { problems.Add(new(index, field, $"must be a string, got {Describe(el.ValueKind)}")); return null; }
        var s = intern ? Interned(el) : el.GetString()!;
        if (string.IsNullOrWhiteSpace(s)) { problems.Add(new(index, field, "must not be empty")); return null; }
        if (s.Length > MaxTextLength) { problems.Add(new(index, field, $"is {s.Length} characters long; at most {MaxTextLength}")); return null; }
        return s;
    }

    private const int MaxInternedLength = 64, MaxInterned = 4096;
    [ThreadStatic] private static Dictionary<string, string>? t_interned;

    /// <summary>
    /// The value's string, shared with earlier events on this thread: agents, tools, servers, users,
    /// tenants and models repeat in almost every event, so a batch of 1,000 needs a few dozen strings
    /// instead of thousands. Looked up from the raw ASCII bytes; escapes, other characters and long
    /// values are read the usual way. Bounded: past <see cref="MaxInterned"/> the cache starts over.
    /// </summary>
    private static string Interned(JsonElement el)
    {
        Span<char> chars = stackalloc char[MaxInternedLength];
        var length = PlainAscii(JsonMarshal.GetRawUtf8Value(el)[1..^1], chars);
        if (length < 0) return el.GetString()!;
        var interned = t_interned ??= new Dictionary<string, string>();
        var lookup = interned.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..length], out var s)) return s;
        if (interned.Count >= MaxInterned) interned.Clear();
        s = new string(chars[..length]);
        interned[s] = s;
        return s;
    }

    private static string? OneOf(JsonElement el, string field, string[] accepted, int index, List<IngestProblem> problems)
    {
        if (el.ValueKind == JsonValueKind.String)
            foreach (var a in accepted)
                if (el.ValueEquals(a)) return a;
        problems.Add(new(index, field, $"{Show(el)} is not accepted; accepts {string.Join(", ", accepted)}"));
        return null;
    }

    private static double? Latency(JsonElement el, string field, int index, List<IngestProblem> problems)
    {
        if (el.ValueKind == JsonValueKind.Number && el.TryGetDouble(out var d) && double.IsFinite(d) && d >= 0) return d;
        problems.Add(new(index, field, $"{Show(el)} is not a number of milliseconds >= 0"));
        return null;
    }

    private static long? Count(JsonElement el, string field, int index, List<IngestProblem> problems)
    {
        if (el.ValueKind == JsonValueKind.Number && el.TryGetInt64(out var n) && n >= 0) return n;
        problems.Add(new(index, field, $"{Show(el)} is not a whole number >= 0"));
        return null;
    }

    private static string Show(JsonElement el)
    {
        var raw = el.GetRawText();
        return raw.Length > 60 ? raw[..57] + "..." : raw;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
