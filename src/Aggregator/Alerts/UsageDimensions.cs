using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>The dimension values of a usage row ('' when absent), as in usage_stats, in <see cref="Dimension.All"/> order.</summary>
public readonly struct UsageDimensions(string[] values) : IEquatable<UsageDimensions>
{
    private readonly string[] _values = values;

    public string Of(Dimension dimension) => _values[dimension.Index];

    public bool Matches(AlertFilter f)
    {
        foreach (var d in Dimension.All)
            if (d.FilterValue(f) is { } wanted && wanted != _values[d.Index]) return false;
        return true;
    }

    public bool Equals(UsageDimensions other) => _values.AsSpan().SequenceEqual(other._values);
    public override bool Equals(object? obj) => obj is UsageDimensions other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var v in _values) hash.Add(v);
        return hash.ToHashCode();
    }
}
