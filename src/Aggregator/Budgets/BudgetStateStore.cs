using System.Text.Json;
using AgentMeter.Aggregator.Webhooks;
using AgentMeter.Entities.Resources;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>Reads and writes <c>budget_states</c>; an evaluation and the notifications it causes commit together.</summary>
public sealed class BudgetStateStore(NpgsqlDataSource db)
{
    private sealed record Row(string Namespace, string Name, DateTime PeriodStart, DateTime PeriodEnd, string Currency, decimal Amount,
        decimal? Spent, decimal? Projected, DateOnly? ProjectedExhaustion, string? State, string? ForecastMethod, int? LastNotifiedThreshold,
        bool ForecastNotified, DateTime EvaluatedAt, string? Error)
    {
        public BudgetEvaluation ToEvaluation() => new(Namespace, Name, Utc(PeriodStart), Utc(PeriodEnd), Currency, Amount, Spent, Projected,
            ProjectedExhaustion, State, ForecastMethod, LastNotifiedThreshold, ForecastNotified,
            Utc(EvaluatedAt), Error);
    }

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));

    public async Task<IReadOnlyDictionary<(string Ns, string Name), BudgetEvaluation>> LoadAllAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var rows = await conn.QueryAsync<Row>(new CommandDefinition(
            """
            SELECT namespace AS Namespace, name AS Name, period_start AS PeriodStart, period_end AS PeriodEnd, currency AS Currency,
                   amount AS Amount, spent AS Spent, projected AS Projected, projected_exhaustion AS ProjectedExhaustion, state AS State,
                   forecast_method AS ForecastMethod, last_notified_threshold AS LastNotifiedThreshold, forecast_notified AS ForecastNotified,
                   evaluated_at AS EvaluatedAt, error AS Error
            FROM budget_states
            """, cancellationToken: ct));
        return rows.Select(r => r.ToEvaluation()).ToDictionary(e => (e.Namespace, e.Name));
    }

    /// <summary>Saves an evaluation and queues its notifications to every webhook of <paramref name="budget"/> and its mail, in one transaction.</summary>
    public async Task SaveAsync(Budget budget, BudgetEvaluation e, IReadOnlyList<BudgetNotification> notifications, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO budget_states (namespace, name, period_start, period_end, currency, amount, spent, projected, projected_exhaustion, state,
                                       forecast_method, last_notified_threshold, forecast_notified, evaluated_at, error)
            VALUES (@Namespace, @Name, @PeriodStart, @PeriodEnd, @Currency, @Amount, @Spent, @Projected, @exhaustion, @State,
                    @ForecastMethod, @LastNotifiedThreshold, @ForecastNotified, @EvaluatedAt, @Error)
            ON CONFLICT (namespace, name) DO UPDATE SET
                period_start = excluded.period_start, period_end = excluded.period_end, currency = excluded.currency, amount = excluded.amount,
                spent = excluded.spent, projected = excluded.projected, projected_exhaustion = excluded.projected_exhaustion, state = excluded.state,
                forecast_method = excluded.forecast_method, last_notified_threshold = excluded.last_notified_threshold,
                forecast_notified = excluded.forecast_notified, evaluated_at = excluded.evaluated_at, error = excluded.error
            """,
            new
            {
                e.Namespace, e.Name, e.PeriodStart, e.PeriodEnd, e.Currency, e.Amount, e.Spent, e.Projected,
                exhaustion = e.ProjectedExhaustion, e.State, e.ForecastMethod, e.LastNotifiedThreshold,
                e.ForecastNotified, e.EvaluatedAt, e.Error,
            }, tx, cancellationToken: ct));
        foreach (var n in notifications)
        {
            var occasion = $"{n.PeriodIdentity}/{n.EventType}/{n.Threshold}";
            var group = n.Threshold?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "";
            var payload = JsonSerializer.Serialize(n, BudgetNotification.Json);
            foreach (var hook in budget.Spec.Webhooks ?? [])
                await WebhookOutbox.EnqueueAsync(conn, tx, new OutboxEntry(
                    WebhookOutbox.IdempotencyKey(occasion, n.EventType, hook.Name), Budget.KindName, n.Namespace, n.Budget, hook.Name,
                    group, n.EventType, budget.Spec.Filter?.TenantId, payload), e.EvaluatedAt);
            if (budget.Spec.Email is not null)
                await WebhookOutbox.EnqueueAsync(conn, tx, OutboxEntry.Mail(occasion, Budget.KindName, n.Namespace, n.Budget, group, n.EventType,
                    budget.Spec.Filter?.TenantId, payload), e.EvaluatedAt);
        }
        await tx.CommitAsync(ct);
    }

    /// <summary>Forgets the budgets no longer defined, so one created again under the same name starts clean.</summary>
    public async Task DeleteOthersAsync(IReadOnlyCollection<(string Ns, string Name)> keep, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM budget_states s
            WHERE NOT EXISTS (SELECT 1 FROM unnest(@namespaces, @names) AS k(ns, n) WHERE k.ns = s.namespace AND k.n = s.name)
            """, new { namespaces = keep.Select(k => k.Ns).ToArray(), names = keep.Select(k => k.Name).ToArray() }, cancellationToken: ct));
    }
}
