// Dashboard benchmark: page weight (bytes on the wire, gzip) and time until every panel is drawn, in headless
// Chromium on loopback, with 90 days of data. Baselines in the same run: the raw API calls the page makes
// (HttpClient, in parallel) and the uncompressed size of the same files.
//
//   dotnet run -c Release --project bench/AgentMeter.Dashboard.Bench -- [--url URL --token TOKEN] [--runs N]
//
// Without --url it starts `agentmeter-aggregator demo` with 90 days of history (and the tests' UsageAlerts);
// --url measures an aggregator that is already running.
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using AgentMeter.Testing.Processes;
using Microsoft.Playwright;

var options = Options.Parse(args);
AggregatorProcess? demo = null;
if (options.Url is null)
{
    demo = await DemoAggregator.StartAsync(days: 90);
    options = options with { Url = demo.BaseUrl, Token = DemoAggregator.AdminToken };
}

var page = $"{options.Url!.TrimEnd('/')}/?period=90d";
using var playwright = await Playwright.CreateAsync();
await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
{
    ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
    Headless = true,
    Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
});

var cold = new List<double>();
var warm = new List<double>();
var dataIn = new List<double>();
Weight? weight = null;
for (var run = 0; run < options.Runs + 1; run++)
{
    // A new context per run: empty cache, like a first visit.
    await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 1500 } });
    var tab = await context.NewPageAsync();
    if (options.Token is not null)
    {
        await tab.AddInitScriptAsync($"sessionStorage.setItem('agentmeter.token', {System.Text.Json.JsonSerializer.Serialize(options.Token)});");
    }

    var responses = new List<IResponse>();
    tab.Response += (_, response) => responses.Add(response);
    var first = await DrawnAfterAsync(tab, page);
    if (run == 0)
    {
        // The warm-up run (JIT of server and browser) is not timed; its first load is weighed.
        weight = await Weight.MeasureAsync(responses);
        continue;
    }

    cold.Add(first);
    dataIn.Add(await tab.EvaluateAsync<double>(
        "Math.max(...performance.getEntriesByType('resource').filter(e => e.name.includes('/api/')).map(e => e.responseEnd))"));
    warm.Add(await DrawnAfterAsync(tab, page));
}

var api = await ApiBaselineAsync(options.Url!, options.Token, options.Runs);
Console.WriteLine($"Dashboard benchmark — {page}, {options.Runs} runs (+1 warm-up), Chromium headless on loopback; " +
    $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores");
Console.WriteLine();
Console.WriteLine("| measure | median | p90 | min |");
Console.WriteLine("| --- | ---: | ---: | ---: |");
Console.WriteLine(Row("all panels drawn, first visit (cold cache)", cold));
Console.WriteLine(Row("last API response in, first visit", dataIn));
Console.WriteLine(Row("all panels drawn, reload (warm cache)", warm));
Console.WriteLine(Row("baseline: the page's 7 API calls, raw HttpClient, parallel", api));
Console.WriteLine();
Console.WriteLine("| page weight | on the wire (gzip) | uncompressed |");
Console.WriteLine("| --- | ---: | ---: |");
Console.WriteLine($"| static assets (HTML, JS, CSS) | {Kb(weight!.StaticWire)} | {Kb(weight.StaticRaw)} |");
Console.WriteLine($"| API JSON, 90 days | {Kb(weight.ApiWire)} | {Kb(weight.ApiRaw)} |");
if (demo is not null)
{
    await demo.DisposeAsync();
}

return 0;

// Milliseconds from navigation start to the page's own "agentmeter:panels-drawn" mark.
static async Task<double> DrawnAfterAsync(IPage tab, string url)
{
    await tab.GotoAsync(url);
    await tab.WaitForSelectorAsync("body[data-drawn='true']", new PageWaitForSelectorOptions { Timeout = 60_000 });
    var notReady = await tab.EvalOnSelectorAllAsync<string[]>(".panel:not([data-state='ready'])", "panels => panels.map(p => p.id)");
    if (notReady.Length > 0)
    {
        throw new InvalidOperationException($"panels not drawn with data: {string.Join(", ", notReady)}");
    }

    return await tab.EvaluateAsync<double>("performance.getEntriesByName('agentmeter:panels-drawn').at(-1).startTime");
}

static async Task<List<double>> ApiBaselineAsync(string url, string? token, int runs)
{
    using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.All }) { BaseAddress = new Uri(url) };
    if (token is not null)
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    string[] calls =
    [
        "/api/v1/analytics/usage?period=90d&group_by=agent&limit=10", "/api/v1/analytics/usage?period=90d&group_by=tenant&limit=1000",
        "/api/v1/analytics/costs?period=90d&group_by=agent", "/api/v1/analytics/heatmap?period=90d", "/api/v1/analytics/errors?period=90d",
        "/api/v1/analytics/health?period=90d", "/api/v1/alerts",
    ];
    var times = new List<double>();
    for (var run = 0; run < runs + 1; run++)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(calls.Select(async call => (await http.GetAsync(call)).EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync()));
        if (run > 0)
        {
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
    }

    return times;
}

static string Row(string name, List<double> values)
{
    var sorted = values.Order().ToList();
    return $"| {name} | {sorted[sorted.Count / 2]:F0} ms | {sorted[(int)Math.Ceiling(sorted.Count * 0.9) - 1]:F0} ms | {sorted[0]:F0} ms |";
}

static string Kb(long bytes) => $"{bytes / 1024.0:F1} KB";

internal sealed record Options(string? Url, string? Token, int Runs)
{
    public static Options Parse(string[] args)
    {
        var options = new Options(null, null, 10);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 == args.Length)
            {
                throw new ArgumentException($"{args[i]} needs a value");
            }

            options = args[i] switch
            {
                "--url" => options with { Url = args[i + 1] },
                "--token" => options with { Token = args[i + 1] },
                "--runs" => options with { Runs = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option {args[i]}; accepts --url URL, --token TOKEN, --runs N"),
            };
        }

        return options;
    }
}

/// <summary>Bytes of one page load: what crossed the wire (compressed) and what it unpacks to.</summary>
internal sealed record Weight(long StaticWire, long StaticRaw, long ApiWire, long ApiRaw)
{
    public static async Task<Weight> MeasureAsync(IReadOnlyList<IResponse> responses)
    {
        long staticWire = 0, staticRaw = 0, apiWire = 0, apiRaw = 0;
        foreach (var response in responses.Where(r => r.Url.StartsWith("http", StringComparison.Ordinal)))
        {
            var sizes = await response.Request.SizesAsync();
            long wire = sizes.ResponseBodySize + sizes.ResponseHeadersSize, raw = (await response.BodyAsync()).Length;
            if (response.Url.Contains("/api/", StringComparison.Ordinal))
            {
                apiWire += wire;
                apiRaw += raw;
            }
            else
            {
                staticWire += wire;
                staticRaw += raw;
            }
        }

        return new Weight(staticWire, staticRaw, apiWire, apiRaw);
    }
}
