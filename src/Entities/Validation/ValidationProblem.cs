namespace AgentMeter.Entities.Validation;

/// <summary>One thing wrong with a resource: the JSON path of the field (e.g. <c>spec.webhooks[0].url</c>) and what to fix.</summary>
public sealed record ValidationProblem(string Path, string Problem)
{
    public override string ToString() => $"{Path}: {Problem}";
}

/// <summary>Collects problems while a validator walks a spec.</summary>
internal sealed class ProblemList : List<ValidationProblem>
{
    public void Add(string path, string problem) => Add(new ValidationProblem(path, problem));

    public void RequireDuration(string path, string? value, bool required)
    {
        if (value is null)
        {
            if (required) Add(path, "is required (a duration such as 5m, 1h, 24h, 7d)");
            return;
        }
        if (!Values.Duration.TryParse(value, out _))
            Add(path, $"\"{value}\" is not a duration such as 5m, 1h, 24h, 7d");
    }

    public void RequireOneOf(string path, string? value, IReadOnlyCollection<string> allowed, bool required)
    {
        if (value is null)
        {
            if (required) Add(path, $"is required; one of {string.Join(", ", allowed)}");
            return;
        }
        if (!allowed.Contains(value))
            Add(path, $"\"{value}\" is not one of {string.Join(", ", allowed)}");
    }

    public void RequireMinimum(string path, long? value, long minimum)
    {
        if (value is { } v && v < minimum) Add(path, $"must be at least {minimum}, got {v}");
    }
}
