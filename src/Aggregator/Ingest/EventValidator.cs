using System.Globalization;
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

    private sealed record Field(Kind Kind, bool Required);

    private static readonly Dictionary<string, Dictionary<string, Field>> FieldsByType = new()
    {
        [EventTypes.ToolCall] = new()
        {
            ["agent_id"] = new(Kind.Text, true), ["tool_name"] = new(Kind.Text, true), ["server_label"] = new(Kind.Text, true),
            ["user_id"] = new(Kind.Text, false), ["tenant_id"] = new(Kind.Text, false), ["model"] = new(Kind.Text, false),
            ["status"] = new(Kind.Status, true), ["latency_ms"] = new(Kind.Latency, true),
            // Required unless the matching token count is given (checked below).
            ["request_bytes"] = new(Kind.Count, false), ["response_bytes"] = new(Kind.Count, false),
            ["input_tokens"] = new(Kind.Count, false), ["output_tokens"] = new(Kind.Count, false),
            ["cached_input_tokens"] = new(Kind.Count, false),
        },
        [EventTypes.AgentRequest] = new() { ["agent_id"] = new(Kind.Text, true), ["method"] = new(Kind.Text, true) },
        [EventTypes.CircuitBreaker] = new() { ["server_label"] = new(Kind.Text, true), ["state"] = new(Kind.BreakerState, true) },
        [EventTypes.SseConnection] = new() { ["agent_id"] = new(Kind.Text, true), ["state"] = new(Kind.SseState, true) },
    };

    private static readonly string[] Common = ["type", "time", "event_id"];

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();

    /// <summary>The event, or null with its problems added to <paramref name="problems"/>.</summary>
    public static UsageEvent? Validate(JsonElement e, int index, DateTimeOffset now, TimeSpan maxSkew, List<IngestProblem> problems)
    {
        var before = problems.Count;
        void Problem(string field, string problem) => problems.Add(new IngestProblem(index, field, problem));

        if (e.ValueKind != JsonValueKind.Object)
        {
            Problem("", $"an event must be a JSON object, got {Describe(e.ValueKind)}");
            return null;
        }

        string? type = null;
        if (!e.TryGetProperty("type", out var typeEl)) Problem("type", "is required");
        else if (typeEl.ValueKind != JsonValueKind.String || !FieldsByType.ContainsKey(typeEl.GetString()!))
            Problem("type", $"{Show(typeEl)} is not an event type; accepts {string.Join(", ", EventTypes.All)}");
        else type = typeEl.GetString();

        var time = default(DateTimeOffset);
        if (!e.TryGetProperty("time", out var timeEl)) Problem("time", "is required");
        else if (!TryTime(timeEl, out time)) Problem("time", $"{Show(timeEl)} is not an RFC 3339 timestamp such as 2026-11-28T13:05:00Z");
        else if (time > now + maxSkew) Problem("time", $"{timeEl.GetString()} is more than {maxSkew} ahead of the server clock ({now:O})");
        else if (time < Earliest) Problem("time", $"{timeEl.GetString()} is before 1970-01-01 (a missing or zero timestamp?)");

        string? eventId = null;
        if (e.TryGetProperty("event_id", out var idEl) && idEl.ValueKind != JsonValueKind.Null)
            eventId = Text(idEl, "event_id", Problem);

        if (type is null)
            return null; // the other fields depend on the type

        var fields = FieldsByType[type];
        var values = new Dictionary<string, object?>();
        foreach (var prop in e.EnumerateObject())
        {
            if (Common.Contains(prop.Name)) continue;
            if (!fields.TryGetValue(prop.Name, out var field))
            {
                Problem(prop.Name, $"is not a field of {type}; accepts {string.Join(", ", Common.Concat(fields.Keys))}");
                continue;
            }
            if (prop.Value.ValueKind == JsonValueKind.Null) continue;
            values[prop.Name] = field.Kind switch
            {
                Kind.Text => Text(prop.Value, prop.Name, Problem),
                Kind.Status => OneOf(prop.Value, prop.Name, ["success", "failure"], Problem),
                Kind.BreakerState => OneOf(prop.Value, prop.Name, ["closed", "open", "half_open"], Problem),
                Kind.SseState => OneOf(prop.Value, prop.Name, ["opened", "closed"], Problem),
                Kind.Latency => Latency(prop.Value, prop.Name, Problem),
                Kind.Count => Count(prop.Value, prop.Name, Problem),
                _ => throw new InvalidOperationException(field.Kind.ToString()),
            };
        }
        foreach (var (name, field) in fields)
            if (field.Required && (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null))
                Problem(name, "is required");

        if (type == EventTypes.ToolCall)
        {
            if (!values.ContainsKey("request_bytes") && !values.ContainsKey("input_tokens") && !HasProblem(problems, before, "request_bytes", "input_tokens"))
                Problem("request_bytes", "is required unless input_tokens is given");
            if (!values.ContainsKey("response_bytes") && !values.ContainsKey("output_tokens") && !HasProblem(problems, before, "response_bytes", "output_tokens"))
                Problem("response_bytes", "is required unless output_tokens is given");
            if (values.GetValueOrDefault("cached_input_tokens") is long cached)
            {
                if (values.GetValueOrDefault("input_tokens") is not long input)
                    Problem("cached_input_tokens", "needs input_tokens (cached tokens are part of the input tokens)");
                else if (cached > input)
                    Problem("cached_input_tokens", $"{cached} is more than input_tokens {input} (cached tokens are part of the input tokens)");
            }
        }

        if (problems.Count > before) return null;
        return new UsageEvent
        {
            Type = type,
            Time = time,
            EventId = eventId,
            AgentId = values.GetValueOrDefault("agent_id") as string,
            ToolName = values.GetValueOrDefault("tool_name") as string,
            ServerLabel = values.GetValueOrDefault("server_label") as string,
            UserId = values.GetValueOrDefault("user_id") as string,
            TenantId = values.GetValueOrDefault("tenant_id") as string,
            Model = values.GetValueOrDefault("model") as string,
            Status = values.GetValueOrDefault("status") as string,
            LatencyMs = values.GetValueOrDefault("latency_ms") as double?,
            RequestBytes = values.GetValueOrDefault("request_bytes") as long?,
            ResponseBytes = values.GetValueOrDefault("response_bytes") as long?,
            InputTokens = values.GetValueOrDefault("input_tokens") as long?,
            OutputTokens = values.GetValueOrDefault("output_tokens") as long?,
            CachedInputTokens = values.GetValueOrDefault("cached_input_tokens") as long?,
            Method = values.GetValueOrDefault("method") as string,
            State = values.GetValueOrDefault("state") as string,
        };
    }

    private static bool HasProblem(List<IngestProblem> problems, int from, params string[] fields) =>
        problems.Skip(from).Any(p => fields.Contains(p.Field));

    private static bool TryTime(JsonElement el, out DateTimeOffset time)
    {
        time = default;
        return el.ValueKind == JsonValueKind.String && Rfc3339().IsMatch(el.GetString()!) &&
               DateTimeOffset.TryParse(el.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
    }

    private static string? Text(JsonElement el, string field, Action<string, string> problem)
    {
        if (el.ValueKind != JsonValueKind.String) { problem(field, $"must be a string, got {Describe(el.ValueKind)}"); return null; }
        var s = el.GetString()!;
        if (string.IsNullOrWhiteSpace(s)) { problem(field, "must not be empty"); return null; }
        if (s.Length > MaxTextLength) { problem(field, $"is {s.Length} characters long; at most {MaxTextLength}"); return null; }
        return s;
    }

    private static string? OneOf(JsonElement el, string field, string[] accepted, Action<string, string> problem)
    {
        if (el.ValueKind == JsonValueKind.String && accepted.Contains(el.GetString())) return el.GetString();
        problem(field, $"{Show(el)} is not accepted; accepts {string.Join(", ", accepted)}");
        return null;
    }

    private static double? Latency(JsonElement el, string field, Action<string, string> problem)
    {
        if (el.ValueKind == JsonValueKind.Number && el.TryGetDouble(out var d) && double.IsFinite(d) && d >= 0) return d;
        problem(field, $"{Show(el)} is not a number of milliseconds >= 0");
        return null;
    }

    private static long? Count(JsonElement el, string field, Action<string, string> problem)
    {
        if (el.ValueKind == JsonValueKind.Number && el.TryGetInt64(out var n) && n >= 0) return n;
        problem(field, $"{Show(el)} is not a whole number >= 0");
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
