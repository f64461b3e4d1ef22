namespace AgentMeter.Aggregator.Auth;

/// <summary>Bearer tokens (section <c>Auth</c>): from env or mounted Secrets, never logged.</summary>
public sealed class AuthOptions
{
    public string? AdminToken { get; set; }
    public string? IngestToken { get; set; }
    /// <summary>Scrape token for /metrics when Metrics__RequireToken is on (reads nothing else); not a token that closes the API.</summary>
    public string? MetricsToken { get; set; }
    /// <summary><c>Auth__TenantTokens__&lt;tenantId&gt;=&lt;token&gt;</c>.</summary>
    public Dictionary<string, string> TenantTokens { get; set; } = [];
    /// <summary>A folder with one file per tenant (file name = tenant id, content = token): a mounted Secret.</summary>
    public string? TenantTokensPath { get; set; }

    public bool AnyTokenConfigured =>
        !string.IsNullOrEmpty(AdminToken) || !string.IsNullOrEmpty(IngestToken) || AllTenantTokens().Any();

    /// <summary>
    /// How long the tokens read from <see cref="TenantTokensPath"/> are used before the folder is read
    /// again: keeps file reads off every tenant request; a rotated Secret reaches the mount within
    /// about a minute anyway (kubelet sync), so a few seconds more go unnoticed.
    /// </summary>
    public TimeSpan TenantTokensRefresh { get; set; } = TimeSpan.FromSeconds(10);

    private sealed record FolderTokens(long ReadAt, IReadOnlyList<KeyValuePair<string, string>> Tokens);
    private volatile FolderTokens? _folder;

    public IEnumerable<KeyValuePair<string, string>> AllTenantTokens() =>
        TenantTokens.Where(kv => !string.IsNullOrEmpty(kv.Value)).Concat(TokensFromFolder());

    private IReadOnlyList<KeyValuePair<string, string>> TokensFromFolder()
    {
        if (string.IsNullOrEmpty(TenantTokensPath)) return [];
        var now = Environment.TickCount64;
        if (_folder is { } cached && now - cached.ReadAt < TenantTokensRefresh.TotalMilliseconds) return cached.Tokens;
        var tokens = new List<KeyValuePair<string, string>>();
        if (Directory.Exists(TenantTokensPath))
            foreach (var file in Directory.EnumerateFiles(TenantTokensPath).Where(f => !Path.GetFileName(f).StartsWith('.')))
            {
                var token = File.ReadAllText(file).Trim();
                if (token.Length > 0) tokens.Add(new(Path.GetFileName(file), token));
            }
        _folder = new FolderTokens(now, tokens);
        return tokens;
    }
}
