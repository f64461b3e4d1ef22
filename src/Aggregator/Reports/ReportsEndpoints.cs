using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Auth;

namespace AgentMeter.Aggregator.Reports;

public static class ReportsEndpoints
{
    private const string Csv = "text/csv; charset=utf-8";

    /// <summary><c>/api/v1/reports/*</c>: admin token (every tenant) or a tenant token (its own tenant only), as analytics.</summary>
    public static void MapReports(this WebApplication app)
    {
        var api = app.MapGroup("/api/v1/reports").RequireAuthorization(Policies.Read);
        api.MapGet("/focus", (HttpContext http, FocusExport export) =>
            Answer(http, ReportParameters.Focus, r => Task.FromResult(Results.Stream(
                body => export.WriteAsync(r, body, http.RequestAborted), Csv, FileName("focus", r, "csv")))));
        api.MapGet("/chargeback", (HttpContext http, ChargebackReport report) =>
            Answer(http, ReportParameters.Chargeback, async r =>
            {
                var answer = await report.RunAsync(r, http.RequestAborted);
                return r.Format == ReportFormat.Json
                    ? Results.Ok(answer)
                    : Results.Stream(body => ChargebackReport.WriteCsvAsync(answer, body, http.RequestAborted), Csv,
                        FileName($"chargeback-{r.GroupBy.Name}", r, "csv"));
            }));
    }

    private static async Task<IResult> Answer(HttpContext http, IReadOnlyList<string> accepted, Func<ReportRequest, Task<IResult>> run)
    {
        var today = DateOnly.FromDateTime(http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime);
        var (request, error) = ReportParameters.Parse(http.Request.Query, accepted, today);
        if (error is not null) return Results.BadRequest(error);
        var (tenant, forbidden) = AnalyticsEndpoints.ScopeTenant(http, request!.Tenant);
        if (forbidden is not null) return forbidden;
        return await run(request with { Tenant = tenant });
    }

    /// <summary>agentmeter-focus-2026-10.csv, with the tenant when the file holds one tenant only.</summary>
    private static string FileName(string report, ReportRequest r, string extension) =>
        $"agentmeter-{report}-{r.Month:yyyy-MM}{(r.Tenant is null ? "" : "-" + Safe(r.Tenant))}.{extension}";

    private static string Safe(string text) => new(text.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
