using System.Collections.Immutable;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>A budget in force with its last evaluation (null until evaluated), and its filter ready for matching.</summary>
public sealed record BudgetView(Budget Resource, string Namespace, string Name, AlertFilter Filter, BudgetEvaluation? Evaluation);

/// <summary>
/// The budgets in force joined with their last evaluations, in memory: what <c>/api/v1/budgets</c>, the check
/// endpoint and the gauges read. The evaluating replica updates it after each cycle, the others from the database.
/// The joined list is rebuilt only when the resources or the evaluations change, so a read costs nothing.
/// </summary>
public sealed class BudgetBook(ResourceStore resources)
{
    private sealed record Snapshot(ResourceSet Set, ImmutableDictionary<(string, string), BudgetEvaluation> Evaluations, IReadOnlyList<BudgetView> Views)
    {
        /// <summary>The budgets a call of a tenant can match: those of the tenant and those of no tenant.</summary>
        public readonly Dictionary<string, BudgetView[]> ByTenant = Views.Where(v => v.Filter.TenantId is not null).GroupBy(v => v.Filter.TenantId!)
            .ToDictionary(g => g.Key, g => g.Concat(Views.Where(v => v.Filter.TenantId is null)).ToArray());
        public readonly BudgetView[] Untenanted = Views.Where(v => v.Filter.TenantId is null).ToArray();
    }

    private ImmutableDictionary<(string, string), BudgetEvaluation> _evaluations = ImmutableDictionary<(string, string), BudgetEvaluation>.Empty;
    private Snapshot? _snapshot;

    public IReadOnlyList<BudgetView> Views => Current().Views;

    /// <summary>The budgets that can apply to a call of <paramref name="tenant"/> (null: the budgets of no tenant).</summary>
    public IReadOnlyList<BudgetView> Candidates(string? tenant)
    {
        var snapshot = Current();
        return tenant is not null && snapshot.ByTenant.TryGetValue(tenant, out var views) ? views : snapshot.Untenanted;
    }

    private Snapshot Current()
    {
        var (set, evaluations, snapshot) = (resources.Current, _evaluations, _snapshot);
        if (snapshot is not null && ReferenceEquals(snapshot.Set, set) && ReferenceEquals(snapshot.Evaluations, evaluations)) return snapshot;
        var views = set.Budgets.Select(b =>
        {
            var key = (ResourceNamespace.Of(b.Metadata), b.Metadata.Name);
            return new BudgetView(b, key.Item1, key.Name, b.Spec.Filter ?? new AlertFilter(), evaluations.GetValueOrDefault(key));
        }).ToList();
        return _snapshot = new Snapshot(set, evaluations, views);
    }

    public void Replace(IEnumerable<BudgetEvaluation> evaluations) =>
        _evaluations = evaluations.ToImmutableDictionary(e => (e.Namespace, e.Name));
}
