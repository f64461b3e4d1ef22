using AgentMeter.Dashboard.Tests.Infrastructure;
using static AgentMeter.Dashboard.Tests.DashboardPanelsTests;

namespace AgentMeter.Dashboard.Tests;

[Collection(DashboardCollection.Name)]
public sealed class DashboardAccessTests(DashboardFixture fixture)
{
    /// <summary>Chromium logs every 401/403 response as a console error; those are the point of these tests.</summary>
    private static IEnumerable<string> Unexpected(DashboardPage page) =>
        page.ConsoleErrors.Where(error => !error.Contains("status of 401", StringComparison.Ordinal)
            && !error.Contains("status of 403", StringComparison.Ordinal));

    [Fact]
    public async Task ATenantTokenEnteredInThePageSeesThatTenantOnly()
    {
        var (tenant, other) = (fixture.Tenants[0], fixture.Tenants[1]);
        var page = await fixture.Chromium.OpenAsync(fixture.BaseUrl + "/?group_by=tenant");
        await page.WaitDrawnAsync();
        Assert.Equal("unauthorized", await page.ErrorKindAsync("top-agents"));
        Assert.Contains("Token refused (401)", await page.MessageAsync("top-agents"));
        Assert.Contains("Token refused (401)", await page.Page.InnerTextAsync("#banner"));
        await page.ScreenshotAsync("token-required.png");

        await page.Page.ClickAsync("#token-button");
        await page.Page.FillAsync("#token-dialog input", fixture.TenantToken(tenant));
        await page.Page.ClickAsync("#token-dialog button[value='save']");
        await page.Page.WaitForSelectorAsync("body[data-drawn='true'] #top-agents[data-state='ready']");
        Assert.Equal("Token ✓", await page.Page.InnerTextAsync("#token-button"));

        var tenantOptions = await page.OptionsAsync("tenant");
        Assert.Equal(["", tenant], tenantOptions);
        var costKeys = (await page.TableAsync("cost-trend")).Select(row => row[0]).ToList();
        Assert.Equal([tenant], costKeys);
        // The Budgets panel: the tenant's own budget, never the one over every tenant.
        Assert.Equal(["team-acme/acme-quarter"], (await page.TableAsync("budgets")).Select(row => row[0]));
        var admin = fixture.Api(fixture.AdminToken);
        var ownUsage = await admin.GetAsync($"/api/v1/analytics/usage?period=7d&group_by=agent&limit=10&tenant={tenant}");
        Assert.Equal(Keys(ownUsage.GetProperty("groups")), (await page.TableAsync("top-agents")).Select(row => row[0]));
        Assert.Equal(Count(ownUsage.GetProperty("totals").GetProperty("calls")), await page.FigureAsync("calls"));
        var othersAgents = Keys((await admin.GetAsync($"/api/v1/analytics/usage?period=7d&group_by=agent&tenant={other}"))
            .GetProperty("groups")).ToList();
        Assert.NotEmpty(othersAgents);
        var text = await page.Page.InnerTextAsync("body");
        Assert.All(othersAgents, agent => Assert.DoesNotContain(agent, text));
        await page.ScreenshotAsync("tenant-token.png");

        // Asking for the other tenant by URL is refused by the API, and the page says so.
        await page.Page.GotoAsync($"{fixture.BaseUrl}/?tenant={other}");
        await page.WaitDrawnAsync();
        Assert.Equal("forbidden", await page.ErrorKindAsync("top-agents"));
        Assert.Contains("Token refused (403)", await page.MessageAsync("cost-trend"));
        text = await page.Page.InnerTextAsync("body");
        Assert.All(othersAgents, agent => Assert.DoesNotContain(agent, text));
        Assert.Empty(Unexpected(page));
    }

    [Fact]
    public async Task EmptyLoadingUnreachableAndRejectedStatesSayWhatIsGoingOn()
    {
        // A tenant with no usage: the panels say there is no data yet instead of drawing zeros. (Webhook
        // deliveries, server health and alerts are not per tenant, so those panels may still have data.)
        var empty = await fixture.Chromium.OpenAsync(fixture.BaseUrl + "/?tenant=nobody", fixture.AdminToken);
        await empty.WaitDrawnAsync();
        foreach (var panel in new[] { "headline", "top-agents", "cost-trend", "heatmap" })
        {
            Assert.True(await empty.StateAsync(panel) == "empty", $"{panel} is {await empty.StateAsync(panel)}");
            Assert.Contains("yet", await empty.MessageAsync(panel));
        }

        await empty.ScreenshotAsync("state-empty.png");
        Assert.Empty(empty.ConsoleErrors);

        // Loading: held until the test lets the API answer.
        var release = new TaskCompletionSource();
        var loading = await fixture.Chromium.OpenAsync("about:blank", fixture.AdminToken);
        await loading.Page.RouteAsync("**/api/v1/analytics/costs*", async route =>
        {
            await release.Task;
            await route.ContinueAsync();
        });
        await loading.Page.GotoAsync(fixture.BaseUrl + "/");
        await loading.Page.WaitForSelectorAsync("#top-agents[data-state='ready']");
        Assert.Equal("loading", await loading.StateAsync("cost-trend"));
        Assert.Equal("Loading…", await loading.MessageAsync("cost-trend"));
        release.SetResult();
        await loading.WaitDrawnAsync();
        Assert.Equal("ready", await loading.StateAsync("cost-trend"));

        // Unreachable: the browser's requests fail at the network level, as when the aggregator is down.
        var down = await fixture.Chromium.OpenAsync("about:blank", fixture.AdminToken);
        await down.Page.RouteAsync("**/api/**", route => route.AbortAsync("connectionrefused"));
        await down.Page.GotoAsync(fixture.BaseUrl + "/");
        await down.WaitDrawnAsync();
        foreach (var panel in DashboardPage.Panels)
        {
            Assert.Equal("unreachable", await down.ErrorKindAsync(panel));
        }

        Assert.Contains("unreachable", await down.Page.InnerTextAsync("#banner"));
        await down.ScreenshotAsync("state-unreachable.png");

        // A period the API rejects: its 400 message, naming the parameter, is shown.
        var rejected = await fixture.Chromium.OpenAsync(fixture.BaseUrl + "/?period=9999d", fixture.AdminToken);
        await rejected.WaitDrawnAsync();
        Assert.Equal("badRequest", await rejected.ErrorKindAsync("top-agents"));
        Assert.Contains("period", await rejected.MessageAsync("top-agents"));
    }
}
