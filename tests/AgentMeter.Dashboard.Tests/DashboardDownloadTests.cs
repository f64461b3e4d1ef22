using System.Net.Http.Headers;
using AgentMeter.Dashboard.Tests.Infrastructure;

namespace AgentMeter.Dashboard.Tests;

/// <summary>
/// "Download CSV" in headless Chromium under the page's real Content-Security-Policy: the file
/// arrives, named for the view, and is byte for byte the chargeback report the API gives the same
/// token for the same month, tenant and grouping.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardDownloadTests(DashboardFixture fixture)
{
    private static readonly HttpClient Http = new();

    private async Task<string> ReportAsync(string token, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{fixture.BaseUrl}/api/v1/reports/chargeback?{query}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{query}: {(int)response.StatusCode} {body}");
        return body;
    }

    private static async Task<(string Name, string Text)> DownloadAsync(DashboardPage page, string month)
    {
        await page.Page.FillAsync("#download input[name='month']", month);
        var download = await page.Page.RunAndWaitForDownloadAsync(() => page.Page.ClickAsync("#download button"));
        Assert.Null(await download.FailureAsync());
        return (download.SuggestedFilename, await File.ReadAllTextAsync((await download.PathAsync())!));
    }

    private static string LastMonth() => DateTime.UtcNow.AddMonths(-1).ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task TheDownloadIsTheChargebackReportOfTheView()
    {
        var page = await fixture.Chromium.OpenAsync(fixture.BaseUrl + "/?group_by=model", fixture.AdminToken);
        await page.WaitDrawnAsync();
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
            await page.Page.InputValueAsync("#download input[name='month']"));

        var month = LastMonth();
        var (name, text) = await DownloadAsync(page, month);
        Assert.Equal($"agentmeter-chargeback-model-{month}.csv", name);
        Assert.Equal(await ReportAsync(fixture.AdminToken, $"month={month}&group_by=model&format=csv"), text);
        Assert.StartsWith("month,model,currency,cost,priced", text);
        Assert.True(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length > 2, text);

        // A grouping the report does not offer (server) downloads per tenant; a chosen tenant narrows the file.
        var tenant = fixture.Tenants[0];
        await page.Page.GotoAsync($"{fixture.BaseUrl}/?group_by=server&tenant={tenant}");
        await page.WaitDrawnAsync();
        (name, text) = await DownloadAsync(page, month);
        Assert.Equal($"agentmeter-chargeback-tenant-{month}-{tenant}.csv", name);
        Assert.Equal(await ReportAsync(fixture.AdminToken, $"month={month}&group_by=tenant&tenant={tenant}&format=csv"), text);
        Assert.Empty(page.ConsoleErrors);
    }

    [Fact]
    public async Task ATenantTokenDownloadsItsOwnRowsOnly()
    {
        var (tenant, other) = (fixture.Tenants[0], fixture.Tenants[1]);
        var page = await fixture.Chromium.OpenAsync(fixture.BaseUrl + "/?group_by=tenant", fixture.TenantToken(tenant));
        await page.WaitDrawnAsync();
        var month = LastMonth();
        var (_, text) = await DownloadAsync(page, month);
        Assert.Equal(await ReportAsync(fixture.TenantToken(tenant), $"month={month}&group_by=tenant&format=csv"), text);
        Assert.Contains($",{tenant},", text);
        Assert.DoesNotContain(other, text);
    }
}
