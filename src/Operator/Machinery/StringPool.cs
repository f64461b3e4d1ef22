using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace AgentMeter.Operator.Machinery;

/// <summary>
/// One copy of each short string that many cached objects repeat (namespace names, kinds, spec keywords, condition
/// types, reasons and fixed messages): 10,000 UsageAlerts otherwise hold 10,000 copies of each. Bounded, so strings
/// that never repeat cannot grow it without limit: past the capacity a string is kept as it came.
/// </summary>
public sealed class StringPool(int capacity = 16_384)
{
    /// <summary>Longer strings (rule expressions, validation and error details) are rarely shared by two objects.</summary>
    public const int MaxLength = 64;

    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);

    public int Count => _strings.Count;

    [return: NotNullIfNotNull(nameof(value))]
    public string? Intern(string? value)
    {
        if (value is null || value.Length > MaxLength) return value;
        if (_strings.TryGetValue(value, out var pooled)) return pooled;
        return _strings.Count < capacity ? _strings.GetOrAdd(value, value) : value;
    }

    /// <summary>Each string of <paramref name="values"/>, in place.</summary>
    public void InternAll(IList<string>? values)
    {
        for (var i = 0; i < (values?.Count ?? 0); i++) values![i] = Intern(values[i]);
    }
}
