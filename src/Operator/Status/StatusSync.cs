using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Status;

/// <summary>
/// Reads alert, budget and retention state from the aggregator on a short period, records it in the <see cref="StatusBook"/>
/// and queues the resources whose state changed (their reconcilers write the status, and the events of a
/// transition: <see cref="AlertEvents"/>). An aggregator that is down is a completed cycle (every alert's
/// <c>StatusSynced</c> says so); a Kubernetes API error is a failed one, thrown to the loop that retries it.
/// </summary>
public sealed class StatusSync(AggregatorClient aggregator, StatusBook book, Informer<UsageAlert> alerts, Informer<Budget> budgets, ILogger<StatusSync> logger)
{
    public async Task SyncOnceAsync(Action<string> enqueue, CancellationToken ct)
    {
        try
        {
            var response = await aggregator.GetAlertsAsync(ct);
            // After an outage (or at start) every alert's StatusSynced condition changes, not only those with new state.
            var budgetResponse = await aggregator.GetBudgetsAsync(ct);
            if (book.AggregatorError is not null) EnqueueEvery(enqueue);
            foreach (var (key, _, _) in book.UpdateAlerts(response.Alerts))
                enqueue(Keys.UsageAlert(key));
            foreach (var key in book.UpdateBudgets(budgetResponse.Budgets))
                enqueue(Keys.Budget(key));
            if (book.UpdateRetention(await aggregator.GetRetentionAsync(ct)))
                enqueue(Keys.RetentionPolicy(RetentionPolicy.DefaultName));
        }
        catch (AggregatorUnavailableException e)
        {
            logger.LogWarning("Reading state from the aggregator failed: {Error}", e.Message);
            Fail($"aggregator status read failed: {e.Message}", enqueue);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // "Answered" only for a refusal the API server sent; a timeout or an unreadable body is said as it is.
            var cause = e is ApiRefusedException ? $"the Kubernetes API answered {ApiErrors.Describe(e)}" : ApiErrors.Describe(e);
            Fail($"aggregator status read failed: {cause}", enqueue);
            throw;
        }
    }

    private void Fail(string error, Action<string> enqueue)
    {
        if (book.Fail(error)) EnqueueEvery(enqueue);
    }

    private void EnqueueEvery(Action<string> enqueue)
    {
        foreach (var alert in alerts.Items) enqueue(Keys.UsageAlert(Informer<UsageAlert>.KeyOf(alert)));
        foreach (var budget in budgets.Items) enqueue(Keys.Budget(Informer<Budget>.KeyOf(budget)));
    }
}
