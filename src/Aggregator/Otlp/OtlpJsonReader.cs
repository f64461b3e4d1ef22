using System.Globalization;
using System.Numerics;
using System.Text.Json;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.Otlp.Proto.Common;
using AgentMeter.Aggregator.Otlp.Proto.Resource;
using AgentMeter.Aggregator.Otlp.Proto.Trace;
using Google.Protobuf;

namespace AgentMeter.Aggregator.Otlp;

/// <summary>
/// Reads an OTLP/JSON <c>ExportTraceServiceRequest</c> into the messages the binary encoding gives.
/// OTLP/JSON is the protobuf JSON mapping with deviations that Google.Protobuf's JsonParser does not
/// follow: trace and span ids are hex (not base64), enums are integers only, keys are lowerCamelCase
/// only, and unknown keys are ignored. 64-bit integers come as strings or numbers. Only the fields
/// the mapping reads are kept; everything else is skipped unread (the reader's depth limit bounds
/// nesting). A value of the wrong JSON type is an error naming the field.
/// </summary>
public static class OtlpJsonReader
{
    /// <summary>Nesting deeper than this is refused (System.Text.Json's default).</summary>
    public const int MaxDepth = 64;

    /// <summary>The request; throws <see cref="JsonException"/> (not JSON) or <see cref="InvalidDataException"/> (not an OTLP request).</summary>
    public static ExportTraceServiceRequest Read(ReadOnlySpan<byte> json)
    {
        var r = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        r.Read();
        var request = new ExportTraceServiceRequest();
        Expect(ref r, JsonTokenType.StartObject, "the body");
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("resourceSpans"u8))
            {
                if (StartArray(ref r, "resourceSpans"))
                    while (NextElement(ref r)) request.ResourceSpans.Add(ResourceSpans(ref r));
            }
            else Skip(ref r);
        }
        r.Read(); // only white space may follow
        return request;
    }

    private static ResourceSpans ResourceSpans(ref Utf8JsonReader r)
    {
        var resourceSpans = new ResourceSpans();
        Expect(ref r, JsonTokenType.StartObject, "resourceSpans[]");
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("resource"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Null) continue;
                Expect(ref r, JsonTokenType.StartObject, "resource");
                var resource = new Resource();
                while (NextProperty(ref r))
                {
                    if (r.ValueTextEquals("attributes"u8)) Attributes(ref r, resource.Attributes);
                    else Skip(ref r);
                }
                resourceSpans.Resource = resource;
            }
            else if (r.ValueTextEquals("scopeSpans"u8))
            {
                if (!StartArray(ref r, "scopeSpans")) continue;
                while (NextElement(ref r))
                {
                    Expect(ref r, JsonTokenType.StartObject, "scopeSpans[]");
                    var scopeSpans = new ScopeSpans();
                    while (NextProperty(ref r))
                    {
                        if (r.ValueTextEquals("spans"u8))
                        {
                            if (StartArray(ref r, "spans"))
                                while (NextElement(ref r)) scopeSpans.Spans.Add(Span(ref r));
                        }
                        else Skip(ref r);
                    }
                    resourceSpans.ScopeSpans.Add(scopeSpans);
                }
            }
            else Skip(ref r);
        }
        return resourceSpans;
    }

    private static Span Span(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartObject, "spans[]");
        var span = new Span();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("traceId"u8)) span.TraceId = Id(ref r, "traceId");
            else if (r.ValueTextEquals("spanId"u8)) span.SpanId = Id(ref r, "spanId");
            else if (r.ValueTextEquals("name"u8)) span.Name = String(ref r, "name") ?? "";
            else if (r.ValueTextEquals("kind"u8)) span.Kind = (Span.Types.SpanKind)Enum(ref r, "kind");
            else if (r.ValueTextEquals("startTimeUnixNano"u8)) span.StartTimeUnixNano = UInt64(ref r, "startTimeUnixNano");
            else if (r.ValueTextEquals("endTimeUnixNano"u8)) span.EndTimeUnixNano = UInt64(ref r, "endTimeUnixNano");
            else if (r.ValueTextEquals("attributes"u8)) Attributes(ref r, span.Attributes);
            else if (r.ValueTextEquals("status"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Null) continue;
                Expect(ref r, JsonTokenType.StartObject, "status");
                var status = new Status();
                while (NextProperty(ref r))
                {
                    if (r.ValueTextEquals("code"u8)) status.Code = (Status.Types.StatusCode)Enum(ref r, "status.code");
                    else if (r.ValueTextEquals("message"u8)) status.Message = String(ref r, "status.message") ?? "";
                    else Skip(ref r);
                }
                span.Status = status;
            }
            else Skip(ref r);
        }
        return span;
    }

    private static void Attributes(ref Utf8JsonReader r, ICollection<KeyValue> into)
    {
        if (!StartArray(ref r, "attributes")) return;
        while (NextElement(ref r))
        {
            Expect(ref r, JsonTokenType.StartObject, "attributes[]");
            var kv = new KeyValue();
            while (NextProperty(ref r))
            {
                if (r.ValueTextEquals("key"u8)) kv.Key = String(ref r, "attributes[].key") ?? "";
                else if (r.ValueTextEquals("value"u8)) kv.Value = Value(ref r);
                else Skip(ref r);
            }
            into.Add(kv);
        }
    }

    /// <summary>An AnyValue; array, key-value list and bytes values are skipped (the mapping reads none).</summary>
    private static AnyValue? Value(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.Null) return null;
        Expect(ref r, JsonTokenType.StartObject, "attributes[].value");
        var value = new AnyValue();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("stringValue"u8)) { if (String(ref r, "stringValue") is { } s) value.StringValue = s; }
            else if (r.ValueTextEquals("boolValue"u8))
            {
                r.Read();
                if (r.TokenType is JsonTokenType.True or JsonTokenType.False) value.BoolValue = r.GetBoolean();
                else if (r.TokenType != JsonTokenType.Null) throw Invalid(ref r, "boolValue must be true or false");
            }
            else if (r.ValueTextEquals("intValue"u8)) value.IntValue = Int64(ref r, "intValue");
            else if (r.ValueTextEquals("doubleValue"u8)) value.DoubleValue = Double(ref r, "doubleValue");
            else Skip(ref r);
        }
        return value;
    }

    /// <summary>A trace or span id: hex (any case); a value that is not hex gives no id, so the mapping rejects that span alone.</summary>
    private static ByteString Id(ref Utf8JsonReader r, string field)
    {
        var hex = String(ref r, field);
        if (string.IsNullOrEmpty(hex) || hex.Length % 2 != 0) return ByteString.Empty;
        try
        {
            return ByteString.CopyFrom(Convert.FromHexString(hex));
        }
        catch (FormatException)
        {
            return ByteString.Empty;
        }
    }

    private static string? String(ref Utf8JsonReader r, string field)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.Null) return null;
        if (r.TokenType != JsonTokenType.String) throw Invalid(ref r, $"{field} must be a string");
        try
        {
            return r.GetString();
        }
        catch (InvalidOperationException)
        {
            throw Invalid(ref r, $"{field} is not valid UTF-8 text");
        }
    }

    /// <summary>Enums are integers in OTLP/JSON; their names are not accepted.</summary>
    private static int Enum(ref Utf8JsonReader r, string field)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.Null) return 0;
        if (r.TokenType == JsonTokenType.Number && r.TryGetInt32(out var n)) return n;
        throw Invalid(ref r, $"{field} must be an integer (OTLP/JSON encodes enums as integers, not names)");
    }

    private static long Int64(ref Utf8JsonReader r, string field) =>
        Number<long>(ref r, field, NumberStyles.AllowLeadingSign, "a 64-bit integer, as a number or a decimal string");

    private static ulong UInt64(ref Utf8JsonReader r, string field) =>
        Number<ulong>(ref r, field, NumberStyles.None, "an unsigned 64-bit integer of nanoseconds, as a number or a decimal string");

    // The protobuf JSON mapping writes NaN and the infinities as strings.
    private static double Double(ref Utf8JsonReader r, string field) => Number<double>(ref r, field, NumberStyles.Float, "a number");

    /// <summary>A number, written as a JSON number or as a string (how 64-bit integers are usually sent); null is zero.</summary>
    private static T Number<T>(ref Utf8JsonReader r, string field, NumberStyles styles, string expected) where T : INumberBase<T>
    {
        r.Read();
        if (r.TokenType == JsonTokenType.Null) return T.Zero;
        if (r.TokenType is JsonTokenType.Number or JsonTokenType.String && !r.ValueIsEscaped &&
            T.TryParse(r.ValueSpan, styles, CultureInfo.InvariantCulture, out var n)) return n;
        throw Invalid(ref r, $"{field} must be {expected}");
    }

    private static void Expect(ref Utf8JsonReader r, JsonTokenType token, string what)
    {
        if (r.TokenType != token) throw Invalid(ref r, $"{what} must be {(token == JsonTokenType.StartObject ? "an object" : "an array")}");
    }

    /// <summary>Reads to the value after a property name: true on an array, false on null; anything else is an error.</summary>
    private static bool StartArray(ref Utf8JsonReader r, string field)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.Null) return false;
        Expect(ref r, JsonTokenType.StartArray, field);
        return true;
    }

    /// <summary>Moves to the next property name of the object; false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader r) => r.Read() && r.TokenType == JsonTokenType.PropertyName;

    /// <summary>Moves to the next element of the array; false at its end.</summary>
    private static bool NextElement(ref Utf8JsonReader r) => r.Read() && r.TokenType != JsonTokenType.EndArray;

    /// <summary>Skips the value of the property the reader is on.</summary>
    private static void Skip(ref Utf8JsonReader r)
    {
        r.Read();
        r.Skip();
    }

    private static InvalidDataException Invalid(ref Utf8JsonReader r, string message) =>
        new($"{message} (at byte {r.TokenStartIndex + 1})");
}
