using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Costs;

/// <summary>A CostRate that is loaded but not persisted, and why.</summary>
public sealed record RateProblem(string Name, string Field, string Problem);

/// <summary>
/// The rates to persist for a set of CostRates. Two CostRates pricing the same model (or server) from
/// the same effectiveFrom would make the price of a day ambiguous: the one whose metadata.name sorts
/// first (ordinal) is persisted, every other is reported and left out — the same choice on every
/// replica and every reload.
/// </summary>
public sealed record RatePlan(IReadOnlyList<PersistedRate> Rates, IReadOnlyList<RateProblem> Problems)
{
    public static readonly RatePlan Empty = new([], []);

    public static RatePlan For(IEnumerable<CostRate> costRates)
    {
        var rates = new List<PersistedRate>();
        var problems = new List<RateProblem>();
        var winners = new Dictionary<(string?, string?, DateOnly), PersistedRate>();
        foreach (var rate in costRates.Select(PersistedRate.From).OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            if (winners.TryGetValue(rate.PriceKey, out var winner))
            {
                problems.Add(new RateProblem(rate.Name, "spec.effectiveFrom",
                    $"CostRate \"{winner.Name}\" already prices {rate.Subject} from {rate.EffectiveFrom:yyyy-MM-dd}; " +
                    $"\"{winner.Name}\" is in force because its name sorts first. Change effectiveFrom or delete one of them"));
                continue;
            }
            winners.Add(rate.PriceKey, rate);
            rates.Add(rate);
        }
        return new RatePlan(rates, problems);
    }
}
