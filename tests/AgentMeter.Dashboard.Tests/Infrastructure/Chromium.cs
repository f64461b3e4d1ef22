using Microsoft.Playwright;

namespace AgentMeter.Dashboard.Tests.Infrastructure;

/// <summary>
/// Debian's headless Chromium (/usr/bin/chromium) driven by Playwright, with a fresh profile folder that is
/// deleted afterwards. Override the binary with CHROMIUM_PATH.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    private static readonly string[] Flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly string _profile = Path.Combine(Path.GetTempPath(), $"agentmeter-chromium-{Guid.NewGuid():N}");
    private IPlaywright? _playwright;
    private IBrowserContext? _context;

    public static string ScreenshotFolder { get; } = Path.Combine(RepoPaths.Root, "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Chromium not found at {executable}: install Debian's `chromium` package (.ci/run does).");
        }

        _playwright = await Playwright.CreateAsync();
        _context = await _playwright.Chromium.LaunchPersistentContextAsync(_profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = Flags,
            ViewportSize = new ViewportSize { Width = 1440, Height = 1500 },
            Timeout = 60_000,
        });
    }

    public async Task<DashboardPage> OpenAsync(string url, string? token = null)
    {
        var page = await _context!.NewPageAsync();
        var dashboard = new DashboardPage(page);
        if (token is not null)
        {
            // As if the user had entered it earlier in this tab: the dashboard reads it from sessionStorage.
            await page.AddInitScriptAsync($"sessionStorage.setItem('agentmeter.token', {System.Text.Json.JsonSerializer.Serialize(token)});");
        }

        await page.GotoAsync(url);
        return dashboard;
    }

    public async Task DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Directory.Exists(_profile))
        {
            Directory.Delete(_profile, recursive: true);
        }
    }
}
