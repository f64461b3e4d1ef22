using System.Buffers.Binary;
using System.Text;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.Otlp.Proto.Common;
using AgentMeter.Aggregator.Otlp.Proto.Resource;
using AgentMeter.Aggregator.Otlp.Proto.Trace;
using AgentMeter.Aggregator.Ingest;
using Google.Protobuf;

namespace AgentMeter.Aggregator.Otlp;

/// <summary>
/// Reads a binary <c>ExportTraceServiceRequest</c> (both transports) into the generated messages,
/// keeping only the attributes the mapping reads: every other attribute — prompts, tool results,
/// session ids, often most of a span's bytes — is skipped by its length, its key compared as bytes,
/// and never becomes an object or a string. The generated parser would make three objects of
/// every attribute; on ingest's hot path that was half the cost of a span. Wire format: the
/// protobuf encoding (varints, fixed64, length-delimited fields) with the field numbers of the
/// .proto files in Otlp/Protos; any other field is skipped, as protobuf readers do.
/// </summary>
public sealed class OtlpProtobufReader
{
    private readonly (byte[] Utf8, string Key)[] _spanKeys;
    private readonly (byte[] Utf8, string Key)[] _resourceKeys;

    public OtlpProtobufReader(OtlpOptions options)
    {
        _spanKeys = Keys(SpanMapper.SpanAttributeKeys.Append(options.TenantAttribute).Append(options.UserAttribute));
        _resourceKeys = Keys(["service.name", options.TenantAttribute, options.UserAttribute]);
    }

    private static (byte[], string)[] Keys(IEnumerable<string> keys) => [.. keys.Distinct().Select(k => (Encoding.UTF8.GetBytes(k), k))];

    /// <summary>The request; throws <see cref="InvalidDataException"/> when the bytes are not one (truncated, malformed).</summary>
    public ExportTraceServiceRequest Read(ReadOnlySpan<byte> data)
    {
        var request = new ExportTraceServiceRequest();
        var wire = new Wire(data, 0);
        while (wire.Next(out var field, out var type))
            if (field == 1 && type == Wire.LengthDelimited) request.ResourceSpans.Add(ResourceSpans(wire.Bytes()));
            else wire.Skip(type);
        return request;
    }

    private ResourceSpans ResourceSpans(Wire wire)
    {
        var resourceSpans = new ResourceSpans();
        while (wire.Next(out var field, out var type))
        {
            if (field == 1 && type == Wire.LengthDelimited)
            {
                var resource = new Resource();
                var inner = wire.Bytes();
                while (inner.Next(out var f, out var t))
                {
                    if (f != 1 || t != Wire.LengthDelimited) inner.Skip(t);
                    else if (Attribute(inner.Bytes(), _resourceKeys) is { } kv) resource.Attributes.Add(kv);
                }
                resourceSpans.Resource = resource;
            }
            else if (field == 2 && type == Wire.LengthDelimited)
            {
                var scopeSpans = new ScopeSpans();
                var inner = wire.Bytes();
                while (inner.Next(out var f, out var t))
                    if (f == 2 && t == Wire.LengthDelimited) scopeSpans.Spans.Add(Span(inner.Bytes()));
                    else inner.Skip(t);
                resourceSpans.ScopeSpans.Add(scopeSpans);
            }
            else wire.Skip(type);
        }
        return resourceSpans;
    }

    private Span Span(Wire wire)
    {
        var span = new Span();
        while (wire.Next(out var field, out var type))
        {
            switch (field, type)
            {
                case (1, Wire.LengthDelimited): span.TraceId = ByteString.CopyFrom(wire.Bytes().Rest); break;
                case (2, Wire.LengthDelimited): span.SpanId = ByteString.CopyFrom(wire.Bytes().Rest); break;
                case (5, Wire.LengthDelimited): span.Name = wire.Bytes().Text(); break;
                case (6, Wire.VarintType): span.Kind = (Span.Types.SpanKind)(int)wire.Varint(); break;
                case (7, Wire.Fixed64Type): span.StartTimeUnixNano = wire.Fixed64(); break;
                case (8, Wire.Fixed64Type): span.EndTimeUnixNano = wire.Fixed64(); break;
                case (9, Wire.LengthDelimited):
                    if (Attribute(wire.Bytes(), _spanKeys) is { } kv) span.Attributes.Add(kv);
                    break;
                case (15, Wire.LengthDelimited):
                    var status = new Status();
                    var inner = wire.Bytes();
                    while (inner.Next(out var f, out var t))
                        if (f == 3 && t == Wire.VarintType) status.Code = (Status.Types.StatusCode)(int)inner.Varint();
                        else inner.Skip(t); // the message is not read
                    span.Status = status;
                    break;
                default: wire.Skip(type); break;
            }
        }
        return span;
    }

    /// <summary>The attribute when its key is one of <paramref name="keys"/> (the key string is shared, not read), else null.</summary>
    private static KeyValue? Attribute(Wire wire, (byte[] Utf8, string Key)[] keys)
    {
        string? key = null;
        var keyFound = false;
        Wire value = default;
        var hasValue = false;
        while (wire.Next(out var field, out var type))
        {
            if (field == 1 && type == Wire.LengthDelimited)
            {
                var bytes = wire.Bytes().Rest;
                keyFound = true;
                key = null;
                foreach (var (utf8, name) in keys)
                    if (bytes.SequenceEqual(utf8)) { key = name; break; }
            }
            else if (field == 2 && type == Wire.LengthDelimited)
            {
                value = wire.Bytes();
                hasValue = true;
            }
            else wire.Skip(type);
        }
        if (!keyFound || key is null) return null;
        var kv = new KeyValue { Key = key };
        if (hasValue) kv.Value = Value(value);
        return kv;
    }

    /// <summary>An AnyValue; array, key-value list and bytes values are skipped (the mapping reads none).</summary>
    private static AnyValue Value(Wire wire)
    {
        var value = new AnyValue();
        while (wire.Next(out var field, out var type))
        {
            switch (field, type)
            {
                case (1, Wire.LengthDelimited):
                    // Names repeat in every span: shared strings, as JSON ingest's.
                    var text = wire.Bytes();
                    value.StringValue = EventValidator.InternedAscii(text.Rest) ?? text.Text();
                    break;
                case (2, Wire.VarintType): value.BoolValue = wire.Varint() != 0; break;
                case (3, Wire.VarintType): value.IntValue = (long)wire.Varint(); break;
                case (4, Wire.Fixed64Type): value.DoubleValue = BitConverter.Int64BitsToDouble((long)wire.Fixed64()); break;
                default: wire.Skip(type); break;
            }
        }
        return value;
    }

    /// <summary>A cursor over one message's bytes; <paramref name="offset"/> is where they start in the body, for messages.</summary>
    private ref struct Wire(ReadOnlySpan<byte> data, int offset)
    {
        public const int VarintType = 0, Fixed64Type = 1, LengthDelimited = 2, Fixed32Type = 5;
        private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        /// <summary>The bytes not read yet.</summary>
        public readonly ReadOnlySpan<byte> Rest => _data[_pos..];

        /// <summary>Reads the next field's number and wire type; false at the end.</summary>
        public bool Next(out int field, out int type)
        {
            field = type = 0;
            if (_pos >= _data.Length) return false;
            var tag = ReadVarint();
            field = (int)(tag >> 3);
            type = (int)(tag & 7);
            if (field == 0) throw Invalid("a field number of 0");
            return true;
        }

        public ulong Varint() => ReadVarint();

        public ulong Fixed64()
        {
            if (_data.Length - _pos < 8) throw Invalid("a fixed64 value cut short (truncated?)");
            var v = BinaryPrimitives.ReadUInt64LittleEndian(_data[_pos..]);
            _pos += 8;
            return v;
        }

        /// <summary>A length-delimited field's contents.</summary>
        public Wire Bytes()
        {
            var length = ReadVarint();
            if (length > (ulong)(_data.Length - _pos)) throw Invalid($"a field of {length} bytes with {_data.Length - _pos} left (truncated?)");
            var start = _pos;
            _pos += (int)length;
            return new Wire(_data.Slice(start, (int)length), offset + start);
        }

        public readonly string Text()
        {
            try
            {
                return Strict.GetString(_data);
            }
            catch (DecoderFallbackException)
            {
                throw new InvalidDataException($"a string that is not valid UTF-8 at byte {offset + 1}");
            }
        }

        public void Skip(int type)
        {
            switch (type)
            {
                case VarintType: ReadVarint(); break;
                case Fixed64Type: Fixed64(); break;
                case LengthDelimited: Bytes(); break;
                case Fixed32Type:
                    if (_data.Length - _pos < 4) throw Invalid("a fixed32 value cut short (truncated?)");
                    _pos += 4;
                    break;
                default: throw Invalid($"wire type {type}, which OTLP does not use");
            }
        }

        private ulong ReadVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length) throw Invalid("a number cut short (truncated?)");
                var b = _data[_pos++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return value;
            }
            throw Invalid("a number longer than 10 bytes");
        }

        private readonly InvalidDataException Invalid(string what) => new($"{what} at byte {offset + _pos + 1}");
    }
}
