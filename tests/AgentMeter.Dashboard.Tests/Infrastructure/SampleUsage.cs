namespace AgentMeter.Dashboard.Tests.Infrastructure;

public sealed record UsageRow(DateOnly Date, string Tenant, string Agent, string User, string Tool, string Server, string Model,
    long Calls, long Failures, double AvgLatencyMs, double P95LatencyMs, long InputTokens, long OutputTokens, decimal Cost,
    string? Currency, long[] CallsByHour);

public sealed record BreakerInterval(string Server, string State, DateTime From, DateTime To);

public sealed record SampleAlert(string Namespace, string Name, string Metric, string Threshold, string Window, string Severity,
    string State, string CurrentValue, string[] FiringGroups, string? TenantId);

/// <summary>
/// Seeded, shaped like a registry's traffic: two tenants with their own agents, business-hours peaks, one model
/// without a CostRate, a flaky MCP server. Different tenants, periods and groupings give different figures.
/// </summary>
public sealed class SampleUsage
{
    private static readonly (string Tenant, string Agent, double Weight)[] Agents =
    [
        ("acme", "acme-support", 1.0), ("acme", "acme-research", 0.6), ("acme", "acme-coder", 0.35),
        ("globex", "globex-billing", 0.8), ("globex", "globex-ops", 0.25),
    ];

    private static readonly (string Tool, string Server, string Model)[] Tools =
    [
        ("search", "search-mcp", "gpt-4o"), ("fetch", "search-mcp", "gpt-4o-mini"), ("github.create_issue", "github-mcp", "claude-sonnet"),
        ("sql.query", "db-mcp", "local-llama"), ("slack.post", "slack-mcp", "gpt-4o-mini"),
    ];

    private static readonly Dictionary<string, decimal> PricePerMillion = new()
    {
        ["gpt-4o"] = 5m, ["gpt-4o-mini"] = 0.6m, ["claude-sonnet"] = 6m,
    };

    public SampleUsage(int days, int seed = 7, bool empty = false)
    {
        Now = DateTime.UtcNow;
        Today = DateOnly.FromDateTime(Now);
        if (empty)
        {
            return;
        }

        var random = new Random(seed);
        for (var date = Today.AddDays(1 - days); date <= Today; date = date.AddDays(1))
        {
            var weekend = date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
            foreach (var (tenant, agent, weight) in Agents)
            {
                foreach (var (tool, server, model) in Tools)
                {
                    var calls = (long)(random.Next(20, 120) * weight * (weekend ? 0.3 : 1));
                    var failures = (long)(calls * random.NextDouble() * (server == "db-mcp" ? 0.2 : 0.04));
                    long input = calls * random.Next(400, 1600), output = calls * random.Next(100, 600);
                    var priced = PricePerMillion.TryGetValue(model, out var price);
                    var byHour = new long[24];
                    for (var call = 0; call < calls; call++)
                    {
                        // Most calls in working hours (08–18 UTC), the rest anywhere.
                        byHour[random.NextDouble() < 0.8 ? random.Next(8, 18) : random.Next(0, 24)]++;
                    }

                    Rows.Add(new UsageRow(date, tenant, agent, $"{tenant}-user-{random.Next(1, 4)}", tool, server, model, calls, failures,
                        random.Next(80, 400), random.Next(400, 1500), input, output,
                        priced ? Math.Round((input + output) * price / 1_000_000m, 6) : 0m, priced ? "USD" : null, byHour));
                }
            }

            Webhooks[date] = (random.Next(5, 30), random.Next(0, 4));
        }

        var start = Today.AddDays(1 - days).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        foreach (var server in Tools.Select(t => t.Server).Distinct())
        {
            var at = start;
            var flaky = server == "db-mcp";
            while (at < Now)
            {
                var up = at.AddHours(random.Next(flaky ? 6 : 48, flaky ? 60 : 400));
                Breakers.Add(new BreakerInterval(server, "closed", at, Min(up, Now)));
                if (up >= Now) break;
                var open = up.AddMinutes(random.Next(5, flaky ? 240 : 45));
                Breakers.Add(new BreakerInterval(server, "open", up, Min(open, Now)));
                if (open >= Now) break;
                at = open.AddMinutes(random.Next(1, 10));
                Breakers.Add(new BreakerInterval(server, "half_open", open, Min(at, Now)));
            }
        }

        Alerts.Add(new SampleAlert("team-acme", "acme-daily-cost", "cost", "5", "24h", "warning", "Firing", "7.42", ["acme-support"], "acme"));
        Alerts.Add(new SampleAlert("platform", "db-error-rate", "errorRate", "0.05", "1h", "critical", "Firing", "0.12", ["sql.query"], null));
        Alerts.Add(new SampleAlert("team-globex", "globex-calls", "callCount", "100000", "7d", "info", "Ok", "12000", [], "globex"));
    }

    public DateTime Now { get; }
    public DateOnly Today { get; }
    public List<UsageRow> Rows { get; } = [];
    public Dictionary<DateOnly, (long Deliveries, long Failures)> Webhooks { get; } = [];
    public List<BreakerInterval> Breakers { get; } = [];
    public List<SampleAlert> Alerts { get; } = [];

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;
}
