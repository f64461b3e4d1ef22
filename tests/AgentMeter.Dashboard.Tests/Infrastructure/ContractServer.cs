using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentMeter.Dashboard.Tests.Infrastructure;

/// <summary>
/// Interim loopback server for the dashboard tests while the real analytics API is built on another branch:
/// the real <c>MapDashboard()</c> bundle plus the analytics endpoints of docs/contracts.md, computed from
/// <see cref="SampleUsage"/> with the contract's parameter validation and token rules.
/// </summary>
public sealed partial class ContractServer : IAsyncDisposable
{
    public const string AdminToken = "admin-secret";
    public static readonly IReadOnlyDictionary<string, string> TenantTokens =
        new Dictionary<string, string> { ["acme"] = "acme-secret", ["globex"] = "globex-secret" };

    private static readonly string[] Groupings = ["agent", "tenant", "user", "server", "tool", "model"];
    private readonly WebApplication _app;

    private ContractServer(WebApplication app, SampleUsage data)
    {
        _app = app;
        Data = data;
    }

    public SampleUsage Data { get; }
    public string BaseUrl => _app.Urls.Single();

    public static async Task<ContractServer> StartAsync(SampleUsage data)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ContractServer(app, data);
        app.MapDashboard();
        app.MapGet("/api/v1/analytics/usage", (HttpContext c) => server.Answer(c, server.Usage));
        app.MapGet("/api/v1/analytics/costs", (HttpContext c) => server.Answer(c, server.Costs));
        app.MapGet("/api/v1/analytics/heatmap", (HttpContext c) => server.Answer(c, server.Heatmap));
        app.MapGet("/api/v1/analytics/errors", (HttpContext c) => server.Answer(c, server.Errors));
        app.MapGet("/api/v1/analytics/health", (HttpContext c) => server.Answer(c, server.Health));
        app.MapGet("/api/v1/alerts", (HttpContext c) => server.Answer(c, server.Alerts));
        await app.StartAsync();
        return server;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private sealed record Query(DateOnly From, DateOnly To, string? Tenant, string GroupBy, int Limit, string? TokenTenant);

    private sealed class BadRequest(string parameter, string problem) : Exception(problem)
    {
        public string Parameter { get; } = parameter;
    }

    private IResult Answer(HttpContext context, Func<Query, object> endpoint)
    {
        var bearer = context.Request.Headers.Authorization.ToString();
        var token = bearer.StartsWith("Bearer ", StringComparison.Ordinal) ? bearer["Bearer ".Length..] : null;
        string? tokenTenant = null;
        if (token != AdminToken)
        {
            tokenTenant = TenantTokens.FirstOrDefault(pair => pair.Value == token).Key;
            if (tokenTenant is null)
            {
                return Results.Json(new { error = "a valid bearer token is required" }, statusCode: 401);
            }
        }

        try
        {
            var query = Parse(context.Request.Query, tokenTenant);
            if (tokenTenant is not null && query.Tenant is not null && query.Tenant != tokenTenant)
            {
                return Results.Json(new { error = $"tenant: this token may only read tenant '{tokenTenant}'", parameter = "tenant" },
                    statusCode: 403);
            }

            return Results.Json(endpoint(query with { Tenant = query.Tenant ?? tokenTenant }));
        }
        catch (BadRequest bad)
        {
            return Results.Json(new { error = $"{bad.Parameter}: {bad.Message}", parameter = bad.Parameter }, statusCode: 400);
        }
    }

    private Query Parse(IQueryCollection query, string? tokenTenant)
    {
        var period = query["period"].FirstOrDefault() ?? "7d";
        var match = PeriodPattern().Match(period);
        if (!match.Success || !int.TryParse(match.Groups[1].Value, out var days) || days is < 1 or > 3660)
        {
            throw new BadRequest("period", $"'{period}' is not a period; accepts <N>d with 1 ≤ N ≤ 3660");
        }

        var groupBy = query["group_by"].FirstOrDefault() ?? "agent";
        if (!Groupings.Contains(groupBy))
        {
            throw new BadRequest("group_by", $"'{groupBy}' is unknown; accepts {string.Join("|", Groupings)}");
        }

        var limitText = query["limit"].FirstOrDefault() ?? "1000";
        if (!int.TryParse(limitText, out var limit) || limit is < 1 or > 1000)
        {
            throw new BadRequest("limit", $"'{limitText}' is out of range; accepts 1..1000");
        }

        var tenant = query["tenant"].FirstOrDefault();
        return new Query(Data.Today.AddDays(1 - days), Data.Today, string.IsNullOrEmpty(tenant) ? null : tenant, groupBy, limit, tokenTenant);
    }

    private IEnumerable<UsageRow> Rows(Query query) =>
        Data.Rows.Where(row => row.Date >= query.From && row.Date <= query.To && (query.Tenant is null || row.Tenant == query.Tenant));

    private static string Key(UsageRow row, string groupBy) => groupBy switch
    {
        "agent" => row.Agent,
        "tenant" => row.Tenant,
        "user" => row.User,
        "server" => row.Server,
        "tool" => row.Tool,
        _ => row.Model,
    };

    private static object Figures(IReadOnlyCollection<UsageRow> rows)
    {
        long calls = rows.Sum(r => r.Calls), failures = rows.Sum(r => r.Failures);
        return new
        {
            calls,
            successes = calls - failures,
            failures,
            errorRate = calls == 0 ? 0 : (double)failures / calls,
            avgLatencyMs = calls == 0 ? 0 : rows.Sum(r => r.Calls * r.AvgLatencyMs) / calls,
            p95LatencyMs = rows.Count == 0 ? 0 : rows.Max(r => r.P95LatencyMs),
            inputTokens = rows.Sum(r => r.InputTokens),
            outputTokens = rows.Sum(r => r.OutputTokens),
        };
    }

    private static string Day(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static IEnumerable<DateOnly> Days(Query query)
    {
        for (var day = query.From; day <= query.To; day = day.AddDays(1))
        {
            yield return day;
        }
    }

    private object Usage(Query query)
    {
        var rows = Rows(query).ToList();
        var groups = rows.GroupBy(row => Key(row, query.GroupBy))
            .OrderByDescending(group => group.Sum(row => row.Calls)).Take(query.Limit)
            .Select(group => (object)new Dictionary<string, object> { ["key"] = group.Key }
                .Concat(ToDictionary(Figures(group.ToList()))).ToDictionary());
        return new
        {
            from = Day(query.From), to = Day(query.To), groupBy = query.GroupBy,
            granularity = new[] { new { from = Day(query.From), to = Day(query.To), granularity = "daily" } },
            totals = Figures(rows),
            groups,
            series = Days(query).Select(day => new
            {
                date = Day(day),
                calls = rows.Where(r => r.Date == day).Sum(r => r.Calls),
                failures = rows.Where(r => r.Date == day).Sum(r => r.Failures),
            }),
        };
    }

    private object Costs(Query query)
    {
        var rows = Rows(query).ToList();
        var priced = rows.Where(r => r.Currency is not null).ToList();
        var unpriced = rows.Where(r => r.Currency is null).ToList();
        var currencies = priced.GroupBy(r => r.Currency!).Select(currency =>
        {
            var total = currency.Sum(r => r.Cost);
            return new
            {
                currency = currency.Key,
                total,
                groups = currency.GroupBy(r => Key(r, query.GroupBy)).OrderByDescending(g => g.Sum(r => r.Cost)).Select(g => new
                {
                    key = g.Key, cost = g.Sum(r => r.Cost), share = total == 0 ? 0 : g.Sum(r => r.Cost) / total,
                    calls = g.Sum(r => r.Calls), inputTokens = g.Sum(r => r.InputTokens), outputTokens = g.Sum(r => r.OutputTokens),
                }),
                series = Days(query).Select(day => new
                {
                    date = Day(day),
                    cost = currency.Where(r => r.Date == day).Sum(r => r.Cost),
                    byGroup = currency.Where(r => r.Date == day).GroupBy(r => Key(r, query.GroupBy))
                        .ToDictionary(g => g.Key, g => g.Sum(r => r.Cost)),
                }),
            };
        });
        return new
        {
            from = Day(query.From), to = Day(query.To), groupBy = query.GroupBy,
            granularity = new[] { new { from = Day(query.From), to = Day(query.To), granularity = "daily" } },
            currencies,
            unpriced = new
            {
                calls = unpriced.Sum(r => r.Calls), inputTokens = unpriced.Sum(r => r.InputTokens), outputTokens = unpriced.Sum(r => r.OutputTokens),
                models = unpriced.GroupBy(r => r.Model).Select(g => new
                {
                    model = g.Key, calls = g.Sum(r => r.Calls), inputTokens = g.Sum(r => r.InputTokens), outputTokens = g.Sum(r => r.OutputTokens),
                }),
            },
        };
    }

    private object Heatmap(Query query)
    {
        var rows = Rows(query).ToList();
        return new
        {
            from = Day(query.From), to = Day(query.To),
            tools = rows.Select(r => r.Tool).Distinct().Order(),
            cells = rows.SelectMany(r => r.CallsByHour.Select((calls, hour) => (r.Tool, Day: ((int)r.Date.DayOfWeek + 6) % 7 + 1, hour, calls)))
                .GroupBy(c => (c.Tool, c.Day, c.hour))
                .Select(g => new { tool = g.Key.Tool, dayOfWeek = g.Key.Day, hour = g.Key.hour, calls = g.Sum(c => c.calls) })
                .Where(c => c.calls > 0),
        };
    }

    private object Errors(Query query)
    {
        var rows = Rows(query).ToList();
        return new
        {
            from = Day(query.From), to = Day(query.To),
            days = Days(query).Select(day =>
            {
                long calls = rows.Where(r => r.Date == day).Sum(r => r.Calls), failures = rows.Where(r => r.Date == day).Sum(r => r.Failures);
                var (deliveries, failed) = Data.Webhooks.GetValueOrDefault(day);
                return new
                {
                    date = Day(day), toolCalls = calls, toolFailures = failures, toolFailureRate = calls == 0 ? 0 : (double)failures / calls,
                    webhookDeliveries = deliveries, webhookFailures = failed,
                    webhookFailureRate = deliveries == 0 ? 0 : (double)failed / deliveries,
                };
            }),
            byTool = rows.GroupBy(r => r.Tool).Select(g => new
            {
                tool = g.Key, calls = g.Sum(r => r.Calls), failures = g.Sum(r => r.Failures),
                failureRate = (double)g.Sum(r => r.Failures) / Math.Max(1, g.Sum(r => r.Calls)),
            }),
        };
    }

    private object Health(Query query)
    {
        var start = query.From.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var end = Data.Now;
        return new
        {
            from = Day(query.From), to = Day(query.To),
            servers = Data.Breakers.GroupBy(b => b.Server).Select(server =>
            {
                var intervals = server.Where(i => i.To > start).Select(i => new { i.State, From = i.From < start ? start : i.From, i.To }).ToList();
                var closed = intervals.Where(i => i.State == "closed").Sum(i => (i.To - i.From).TotalSeconds);
                return new
                {
                    server = server.Key,
                    uptimePercent = Math.Round(100 * closed / (end - start).TotalSeconds, 2),
                    currentState = server.Last().State,
                    intervals = intervals.Select(i => new { state = i.State, from = i.From.ToString("O"), to = i.To.ToString("O") }),
                };
            }),
        };
    }

    private object Alerts(Query query) => new
    {
        alerts = Data.Alerts.Where(alert => query.TokenTenant is null || alert.TenantId == query.TokenTenant).Select(alert => new
        {
            alert.Namespace, alert.Name, alert.Metric, alert.Threshold, window = alert.Window, alert.Severity, alert.State,
            alert.CurrentValue, lastEvaluationTime = Data.Now.ToString("O"),
            lastFiredTime = alert.State == "Firing" ? Data.Now.AddHours(-2).ToString("O") : null,
            alert.FiringGroups, groups = Array.Empty<object>(), webhooks = Array.Empty<object>(), error = (string?)null,
        }),
    };

    private static Dictionary<string, object> ToDictionary(object figures) =>
        figures.GetType().GetProperties().ToDictionary(p => p.Name, p => p.GetValue(figures)!);

    [GeneratedRegex(@"^(\d{1,4})d$")]
    private static partial Regex PeriodPattern();
}
