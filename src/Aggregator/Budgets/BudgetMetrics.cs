using AgentMeter.Aggregator.Metrics;
using Prometheus;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>
/// <c>agentmeter_budget_amount</c>, <c>agentmeter_budget_spent</c> and <c>agentmeter_budget_projected</c>
/// {namespace, name, currency}: one series per budget in force (bounded by the Budgets an SRE applies), removed
/// when the budget goes; spent and projected only once evaluated.
/// </summary>
public sealed class BudgetMetrics
{
    private readonly Gauge _amount;
    private readonly Gauge _spent;
    private readonly Gauge _projected;
    private readonly Lock _gate = new();
    private HashSet<(string, string, string)> _present = [];

    public BudgetMetrics(RegistryMetrics registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry.Registry);
        string[] labels = ["namespace", "name", "currency"];
        _amount = f.CreateGauge("agentmeter_budget_amount", "The amount of the budget's period (spec.amount).", labels);
        _spent = f.CreateGauge("agentmeter_budget_spent", "What the budget's filter spent in the current period, at the last evaluation.", labels);
        _projected = f.CreateGauge("agentmeter_budget_projected", "What the budget's filter is projected to have spent at the period's end.", labels);
    }

    public void Update(IReadOnlyList<BudgetView> views)
    {
        lock (_gate)
        {
            var present = new HashSet<(string, string, string)>();
            foreach (var v in views)
            {
                var labels = (v.Namespace, v.Name, v.Resource.Spec.Currency);
                present.Add(labels);
                _amount.WithLabels(v.Namespace, v.Name, labels.Currency).Set((double)(v.Resource.Spec.Amount?.Value ?? 0));
                if (v.Evaluation is { Spent: { } spent, Projected: { } projected })
                {
                    _spent.WithLabels(v.Namespace, v.Name, labels.Currency).Set((double)spent);
                    _projected.WithLabels(v.Namespace, v.Name, labels.Currency).Set((double)projected);
                }
            }
            foreach (var (ns, name, currency) in _present.Where(p => !present.Contains(p)))
                foreach (var gauge in new[] { _amount, _spent, _projected })
                    gauge.RemoveLabelled(ns, name, currency);
            _present = present;
        }
    }
}
