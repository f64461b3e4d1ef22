using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentMeter.Entities.Values;

/// <summary>
/// A price or threshold written as a decimal string ("2.50") or a plain integer, as the Kubernetes
/// API conventions keep floats out of specs. Always computed as <see cref="decimal"/>; written back
/// as the string it was read from so a round trip changes nothing.
/// </summary>
[JsonConverter(typeof(DecimalStringJsonConverter))]
public readonly record struct DecimalString(decimal Value, string Text)
{
    public const string Pattern = @"^[0-9]+(\.[0-9]+)?$";

    public static DecimalString FromDecimal(decimal value) =>
        new(value, value.ToString(CultureInfo.InvariantCulture));

    public static bool TryParse(string? text, out DecimalString result)
    {
        result = default;
        if (string.IsNullOrWhiteSpace(text) || !System.Text.RegularExpressions.Regex.IsMatch(text, Pattern))
            return false;
        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            return false;
        result = new DecimalString(value, text);
        return true;
    }

    public override string ToString() => Text;
}

public sealed class DecimalStringJsonConverter : JsonConverter<DecimalString>
{
    public override DecimalString Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            // Plain integers are accepted too; keep their exact text.
            JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
            _ => throw new JsonException($"expected a decimal string such as \"2.50\", got {reader.TokenType}"),
        };
        if (!DecimalString.TryParse(text, out var value))
            throw new JsonException($"\"{text}\" is not a non-negative decimal such as \"2.50\"");
        return value;
    }

    public override void Write(Utf8JsonWriter writer, DecimalString value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Text);
}
