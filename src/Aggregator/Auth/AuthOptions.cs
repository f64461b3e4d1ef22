namespace AgentMeter.Aggregator.Auth;

/// <summary>Bearer tokens (section <c>Auth</c>): from env or mounted Secrets, never logged.</summary>
public sealed class AuthOptions
{
    public string? AdminToken { get; set; }
    public string? IngestToken { get; set; }
    /// <summary><c>Auth__TenantTokens__&lt;tenantId&gt;=&lt;token&gt;</c>.</summary>
    public Dictionary<string, string> TenantTokens { get; set; } = [];
    /// <summary>A folder with one file per tenant (file name = tenant id, content = token): a mounted Secret.</summary>
    public string? TenantTokensPath { get; set; }

    public bool AnyTokenConfigured =>
        !string.IsNullOrEmpty(AdminToken) || !string.IsNullOrEmpty(IngestToken) || AllTenantTokens().Any();

    public IEnumerable<KeyValuePair<string, string>> AllTenantTokens()
    {
        foreach (var kv in TenantTokens.Where(kv => !string.IsNullOrEmpty(kv.Value)))
            yield return kv;
        if (string.IsNullOrEmpty(TenantTokensPath) || !Directory.Exists(TenantTokensPath)) yield break;
        foreach (var file in Directory.EnumerateFiles(TenantTokensPath).Where(f => !Path.GetFileName(f).StartsWith('.')))
        {
            var token = File.ReadAllText(file).Trim();
            if (token.Length > 0) yield return new(Path.GetFileName(file), token);
        }
    }
}
