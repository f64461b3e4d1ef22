using System.Globalization;
using System.Text.Json;
using AgentMeter.Dashboard.Tests.Infrastructure;

namespace AgentMeter.Dashboard.Tests;

[Collection(DashboardCollection.Name)]
public sealed class DashboardPanelsTests(DashboardFixture fixture)
{
    [Fact]
    public async Task EveryPanelDrawsTheFiguresOfTheAnalyticsApi()
    {
        var page = await fixture.Chromium.OpenAsync(fixture.BaseUrl + "/", fixture.AdminToken);
        await page.WaitDrawnAsync();
        await page.ScreenshotAsync("all-panels.png");

        foreach (var panel in DashboardPage.Panels)
        {
            Assert.True(await page.StateAsync(panel) == "ready", $"{panel}: {await page.StateAsync(panel)} — {await page.MessageAsync(panel)}");
        }

        foreach (var panel in DashboardPage.ChartPanels)
        {
            Assert.True(await page.PaintedPixelsAsync(panel) > 5_000, $"{panel} painted almost nothing");
        }

        var api = fixture.Api(fixture.AdminToken);
        var usage = await api.GetAsync("/api/v1/analytics/usage?period=7d&group_by=agent&limit=10");
        Assert.Equal(
            usage.GetProperty("groups").EnumerateArray().Select(g => new[] { g.GetProperty("key").GetString()!, Count(g.GetProperty("calls")) }),
            (await page.TableAsync("top-agents")).Select(row => row[..2]));
        Assert.Equal(Count(usage.GetProperty("totals").GetProperty("calls")), await page.FigureAsync("calls"));

        var costs = await api.GetAsync("/api/v1/analytics/costs?period=7d&group_by=agent");
        Assert.Equal(Keys(costs.GetProperty("currencies")[0].GetProperty("groups")).Order(),
            (await page.TableAsync("cost-trend")).Select(row => row[0]).Order());

        var health = await api.GetAsync("/api/v1/analytics/health?period=7d");
        Assert.Equal(health.GetProperty("servers").EnumerateArray().Select(s => s.GetProperty("server").GetString()!),
            (await page.TableAsync("server-health")).Select(row => row[0]));

        var errors = await api.GetAsync("/api/v1/analytics/errors?period=7d");
        Assert.Equal(errors.GetProperty("days").GetArrayLength(), (await page.TableAsync("error-trends")).Count);

        var alerts = await api.GetAsync("/api/v1/alerts");
        var firing = alerts.GetProperty("alerts").EnumerateArray().Where(a => a.GetProperty("state").GetString() == "Firing")
            .Select(a => $"{a.GetProperty("namespace").GetString()}/{a.GetProperty("name").GetString()}").ToList();
        Assert.NotEmpty(firing);
        Assert.Equal(firing, (await page.TableAsync("alerts")).Select(row => row[0]));

        var budgets = (await api.GetAsync("/api/v1/budgets")).GetProperty("budgets").EnumerateArray().ToList();
        var budgetRows = await page.TableAsync("budgets");
        Assert.Equal(budgets.Select(b => $"{b.GetProperty("namespace").GetString()}/{b.GetProperty("name").GetString()}"), budgetRows.Select(row => row[0]));
        Assert.Equal(budgets.Select(b => b.GetProperty("state").GetString()), budgetRows.Select(row => row[^1]));
        // acme spends more than 1 USD a day: its budget is exceeded unless the quarter began today (no closed day yet).
        var today = DateTime.UtcNow;
        if (today.Day > 1 || today.Month % 3 != 1) Assert.Contains(budgetRows, row => row[^1] == "Exceeded");

        Assert.Empty(page.ConsoleErrors);
        // Air-gapped clusters: nothing may be fetched from anywhere but the aggregator itself.
        Assert.All(page.Requests, url => Assert.True(url.StartsWith(fixture.BaseUrl, StringComparison.Ordinal) || url.StartsWith("data:"), url));
    }

    [Fact]
    public async Task ControlsChangeTheDataShownAndLiveInTheUrl()
    {
        var api = fixture.Api(fixture.AdminToken);
        var page = await fixture.Chromium.OpenAsync(fixture.BaseUrl + "/", fixture.AdminToken);
        await page.WaitDrawnAsync();
        var weekCalls = await page.FigureAsync("calls");

        await page.ChooseAsync("period", "30d");
        var month = await api.GetAsync("/api/v1/analytics/usage?period=30d&group_by=agent&limit=10");
        Assert.Contains("period=30d", page.Page.Url);
        Assert.Equal(Count(month.GetProperty("totals").GetProperty("calls")), await page.FigureAsync("calls"));
        Assert.NotEqual(weekCalls, await page.FigureAsync("calls"));
        var monthErrors = await api.GetAsync("/api/v1/analytics/errors?period=30d");
        Assert.Equal(monthErrors.GetProperty("days").GetArrayLength(), (await page.TableAsync("error-trends")).Count);

        await page.ChooseAsync("group_by", "tenant");
        Assert.Contains("group_by=tenant", page.Page.Url);
        Assert.Equal("Tenant", (await page.TableHeadersAsync("cost-trend"))[0]);
        var byTenant = await api.GetAsync("/api/v1/analytics/costs?period=30d&group_by=tenant");
        Assert.Equal(Keys(byTenant.GetProperty("currencies")[0].GetProperty("groups")).Order(),
            (await page.TableAsync("cost-trend")).Select(row => row[0]).Order());

        var tenantOptions = await page.OptionsAsync("tenant");
        Assert.Equal(["", .. fixture.Tenants], tenantOptions);
        var tenant = fixture.Tenants[1];
        await page.ChooseAsync("tenant", tenant);
        Assert.Contains($"tenant={tenant}", page.Page.Url);
        var tenantUsage = await api.GetAsync($"/api/v1/analytics/usage?period=30d&group_by=agent&limit=10&tenant={tenant}");
        Assert.Equal(Count(tenantUsage.GetProperty("totals").GetProperty("calls")), await page.FigureAsync("calls"));
        Assert.Equal(Keys(tenantUsage.GetProperty("groups")), (await page.TableAsync("top-agents")).Select(row => row[0]));
        var costKeys = (await page.TableAsync("cost-trend")).Select(row => row[0]).ToList();
        Assert.Equal([tenant], costKeys);

        var allTools = await page.TableAsync("heatmap");
        var heatmap = await api.GetAsync($"/api/v1/analytics/heatmap?period=30d&tenant={tenant}");
        var tool = heatmap.GetProperty("tools")[0].GetString()!;
        await page.Page.SelectOptionAsync("#heatmap select[name='tool']", tool);
        await page.Page.WaitForSelectorAsync($"#heatmap .panel-subtitle:has-text('“{tool}”')");
        Assert.Contains($"tool={Uri.EscapeDataString(tool)}", page.Page.Url);
        Assert.NotEqual(allTools, await page.TableAsync("heatmap"));
        await page.ScreenshotAsync("controls-30d-by-tenant.png");

        // The link is the view: a fresh tab on the same URL shows the same controls and figures.
        var shared = await fixture.Chromium.OpenAsync(page.Page.Url, fixture.AdminToken);
        await shared.WaitDrawnAsync();
        Assert.Equal("30d", await shared.SelectedAsync("period"));
        Assert.Equal("tenant", await shared.SelectedAsync("group_by"));
        Assert.Equal(tenant, await shared.SelectedAsync("tenant"));
        Assert.Equal(await page.FigureAsync("calls"), await shared.FigureAsync("calls"));
        Assert.Equal(await page.TableAsync("heatmap"), await shared.TableAsync("heatmap"));

        Assert.Empty(page.ConsoleErrors);
        Assert.Empty(shared.ConsoleErrors);
    }

    [Fact]
    public async Task ThePanelsShowAToolCallIngestedSecondsAgo()
    {
        // A new agent's first call, now: the cost panel lists it once the live rollup has run (every few seconds).
        var agent = $"live-probe-{Guid.NewGuid():N}"[..20];
        using (var ingest = new HttpClient { BaseAddress = new Uri(fixture.BaseUrl) })
        {
            ingest.DefaultRequestHeaders.Authorization = new("Bearer", DemoAggregator.IngestToken);
            var call = $$"""[{"type":"tool_call","time":"{{DateTime.UtcNow.AddSeconds(-2):O}}","agent_id":"{{agent}}","tool_name":"search","server_label":"github","tenant_id":"acme","model":"gpt-4o","status":"success","latency_ms":120,"input_tokens":1000,"output_tokens":500}]""";
            using var response = await ingest.PostAsync("/api/v1/events", new StringContent(call, System.Text.Encoding.UTF8, "application/json"));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
        var ingested = DateTime.UtcNow;
        var url = fixture.BaseUrl + "/?tenant=acme";
        while (true)
        {
            var page = await fixture.Chromium.OpenAsync(url, fixture.AdminToken);
            await page.WaitDrawnAsync();
            var rows = await page.TableAsync("cost-trend");
            if (rows.Any(row => row[0] == agent))
            {
                Assert.Empty(page.ConsoleErrors);
                await page.Page.CloseAsync();
                break;
            }
            await page.Page.CloseAsync();
            Assert.True(DateTime.UtcNow - ingested < TimeSpan.FromSeconds(60), $"{agent} was not on the dashboard a minute after its call");
        }
        var costs = await fixture.Api(fixture.AdminToken).GetAsync("/api/v1/analytics/costs?period=1d&group_by=agent&tenant=acme&limit=1000");
        Assert.Contains(agent, Keys(costs.GetProperty("currencies")[0].GetProperty("groups")));
    }

    internal static string Count(JsonElement number) => number.GetInt64().ToString("N0", CultureInfo.InvariantCulture);

    internal static IEnumerable<string> Keys(JsonElement groups) => groups.EnumerateArray().Select(g => g.GetProperty("key").GetString()!);
}
