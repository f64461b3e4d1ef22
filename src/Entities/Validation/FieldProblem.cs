namespace AgentMeter.Entities.Validation;

/// <summary>One thing wrong with a resource: the JSON path of the field and what to fix.</summary>
public sealed record FieldProblem(string Field, string Problem)
{
    public override string ToString() => $"{Field}: {Problem}";
}

/// <summary>Collects problems with field paths; the validators of each kind build on it.</summary>
public sealed class ProblemList
{
    private readonly List<FieldProblem> _items = [];
    public IReadOnlyList<FieldProblem> Items => _items;
    public void Add(string field, string problem) => _items.Add(new FieldProblem(field, problem));

    public void Require(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) Add(field, "is required");
    }

    public void Duration(string? value, string field, bool required)
    {
        if (string.IsNullOrEmpty(value)) { if (required) Add(field, "is required"); return; }
        if (!Values.Duration.TryParse(value, out _))
            Add(field, $"\"{value}\" is not a duration such as 30s, 5m, 1h, 24h or 7d");
    }

    public void AtLeast(long? value, long min, string field)
    {
        if (value is { } v && v < min) Add(field, $"must be at least {min}, got {v}");
    }
}
