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
    /// <summary>
    /// <c>Auth__TenantIngestTokens__&lt;tenantId&gt;=&lt;token&gt;</c>: a gateway credential of one tenant.
    /// It may only post events, and only of its tenant (ingest fills in tenant_id where it is missing).
    /// </summary>
    public Dictionary<string, string> TenantIngestTokens { get; set; } = [];
    /// <summary>A folder of tenant ingest tokens, one file per tenant, as <see cref="TenantTokensPath"/>.</summary>
    public string? TenantIngestTokensPath { get; set; }

    public bool AnyTokenConfigured =>
        !string.IsNullOrEmpty(AdminToken) || !string.IsNullOrEmpty(IngestToken) || AllTenantTokens().Any() || AllTenantIngestTokens().Any();

    /// <summary>
    /// How long the tokens read from <see cref="TenantTokensPath"/> are used before the folder is read
    /// again: keeps file reads off every tenant request; a rotated Secret reaches the mount within
    /// about a minute anyway (kubelet sync), so a few seconds more go unnoticed.
    /// </summary>
    public TimeSpan TenantTokensRefresh { get; set; } = TimeSpan.FromSeconds(10);

    private sealed record FolderTokens(string Path, long ReadAt, IReadOnlyList<KeyValuePair<string, string>> Tokens);
    private FolderTokens? _tenantFolder, _ingestFolder;

    public IEnumerable<KeyValuePair<string, string>> AllTenantTokens() =>
        TenantTokens.Where(kv => !string.IsNullOrEmpty(kv.Value)).Concat(TokensFromFolder(TenantTokensPath, ref _tenantFolder));

    public IEnumerable<KeyValuePair<string, string>> AllTenantIngestTokens() =>
        TenantIngestTokens.Where(kv => !string.IsNullOrEmpty(kv.Value)).Concat(TokensFromFolder(TenantIngestTokensPath, ref _ingestFolder));

    private IReadOnlyList<KeyValuePair<string, string>> TokensFromFolder(string? path, ref FolderTokens? folder)
    {
        if (string.IsNullOrEmpty(path)) return [];
        var now = Environment.TickCount64;
        if (folder is { } cached && cached.Path == path && now - cached.ReadAt < TenantTokensRefresh.TotalMilliseconds) return cached.Tokens;
        var tokens = new List<KeyValuePair<string, string>>();
        if (Directory.Exists(path))
            foreach (var file in Directory.EnumerateFiles(path).Where(f => !System.IO.Path.GetFileName(f).StartsWith('.')))
            {
                var token = File.ReadAllText(file).Trim();
                if (token.Length > 0) tokens.Add(new(System.IO.Path.GetFileName(file), token));
            }
        folder = new FolderTokens(path, now, tokens);
        return tokens;
    }
}
