using Microsoft.Playwright;

namespace AgentMeter.Dashboard.Tests.Infrastructure;

/// <summary>One dashboard tab, with what a person would read off it and every console error it logged.</summary>
public sealed class DashboardPage
{
    public static readonly string[] Panels = ["headline", "top-agents", "cost-trend", "heatmap", "error-trends", "server-health", "alerts", "budgets"];
    public static readonly string[] ChartPanels = ["top-agents", "cost-trend", "heatmap", "error-trends", "server-health", "budgets"];

    private readonly List<string> _errors = [];
    private readonly List<string> _requests = [];

    public DashboardPage(IPage page)
    {
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors) _errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors) _errors.Add($"uncaught: {error}");
        };
        page.Request += (_, request) =>
        {
            lock (_requests) _requests.Add(request.Url);
        };
    }

    public IPage Page { get; }

    public IReadOnlyList<string> ConsoleErrors
    {
        get { lock (_errors) return [.. _errors]; }
    }

    public IReadOnlyList<string> Requests
    {
        get { lock (_requests) return [.. _requests]; }
    }

    /// <summary>Waits until every panel shows its chart, its empty note or its error.</summary>
    public Task WaitDrawnAsync() =>
        Page.WaitForSelectorAsync("body[data-drawn='true']", new PageWaitForSelectorOptions { Timeout = 30_000 });

    public Task<string?> StateAsync(string panel) => Page.GetAttributeAsync($"#{panel}", "data-state");

    public Task<string?> ErrorKindAsync(string panel) => Page.GetAttributeAsync($"#{panel}", "data-error");

    public Task<string> MessageAsync(string panel) => Page.InnerTextAsync($"#{panel} .panel-message");

    public Task<string> SubtitleAsync(string panel) => Page.InnerTextAsync($"#{panel} .panel-subtitle");

    /// <summary>The accessible data table that accompanies the panel's chart: exactly the figures drawn.</summary>
    public async Task<List<string[]>> TableAsync(string panel)
    {
        var rows = await Page.EvalOnSelectorAllAsync<string[][]>($"#{panel} .sr-only tbody tr",
            "rows => rows.map(row => [...row.cells].map(cell => cell.textContent))");
        return [.. rows];
    }

    public Task<string[]> TableHeadersAsync(string panel) =>
        Page.EvalOnSelectorAllAsync<string[]>($"#{panel} .sr-only thead th", "cells => cells.map(cell => cell.textContent)");

    /// <summary>How many pixels of the panel's canvas are painted: 0 means nothing was drawn.</summary>
    public Task<int> PaintedPixelsAsync(string panel) => Page.EvalOnSelectorAsync<int>($"#{panel} canvas", """
        canvas => {
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
          return painted;
        }
        """);

    public Task<string> FigureAsync(string key) => Page.InnerTextAsync($"#headline [data-figure='{key}'] strong");

    public async Task<string[]> OptionsAsync(string select) =>
        await Page.EvalOnSelectorAllAsync<string[]>($"select[name='{select}'] option", "options => options.map(o => o.value)");

    public Task<string> SelectedAsync(string select) => Page.InputValueAsync($"select[name='{select}']");

    /// <summary>Picks a control value as a person would and waits for the panels to redraw.</summary>
    public async Task ChooseAsync(string select, string value)
    {
        await Page.SelectOptionAsync($"select[name='{select}']", value);
        await WaitDrawnAsync();
    }

    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(Chromium.ScreenshotFolder);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ScreenshotFolder, name), FullPage = true });
    }
}
