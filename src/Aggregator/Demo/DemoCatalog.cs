namespace AgentMeter.Aggregator.Demo;

/// <summary>The made-up registry the demo data describes: tenants, agents, users, MCP servers, tools, models.</summary>
internal static class DemoCatalog
{
    public sealed record Tool(string Server, string Name, double MedianMs, int RequestBytes, int ResponseBytes);

    public sealed record Agent(string Id, string Tenant, string Model, Tool[] Tools, double Weight, bool GatewayCountsTokens);

    public static readonly string[] Tenants = ["acme", "globex", "initech", "umbrella"];
    private static readonly double[] TenantWeight = [1.0, 0.6, 0.35, 0.15];

    public static readonly Tool[] Tools =
    [
        new("github", "search_issues", 380, 900, 14_000), new("github", "get_file", 210, 400, 22_000),
        new("github", "create_pull_request", 950, 6_500, 2_400), new("github", "list_commits", 300, 500, 9_000),
        new("jira", "search_issues", 520, 1_100, 12_000), new("jira", "create_issue", 700, 3_200, 1_500),
        new("jira", "add_comment", 450, 1_800, 800),
        new("slack", "post_message", 160, 1_200, 600), new("slack", "search_messages", 420, 700, 10_000),
        new("postgres", "run_query", 120, 1_500, 26_000), new("postgres", "describe_table", 60, 300, 3_000),
        new("tavily", "web_search", 1_400, 500, 16_000), new("tavily", "extract", 2_100, 600, 30_000),
        new("filesystem", "read_file", 12, 250, 8_000), new("filesystem", "write_file", 25, 9_000, 200),
        new("filesystem", "list_dir", 8, 200, 1_500),
        new("confluence", "search_pages", 640, 800, 11_000), new("confluence", "get_page", 380, 400, 24_000),
    ];

    public static readonly string[] Servers = Tools.Select(t => t.Server).Distinct().ToArray();

    /// <summary>Models of config/samples/costrates.yaml, plus a self-hosted one no CostRate prices (shows up as unpriced).</summary>
    public static readonly string[] Models =
        ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-flash", "gemini-2.5-pro", "llama-3.1-70b"];

    private static readonly (string Role, string[] Servers)[] Roles =
    [
        ("support-triage", ["jira", "slack", "confluence"]), ("code-reviewer", ["github", "filesystem"]),
        ("release-notes", ["github", "jira", "slack"]), ("incident-responder", ["postgres", "slack", "github"]),
        ("sales-research", ["tavily", "confluence"]), ("data-analyst", ["postgres", "filesystem"]),
        ("docs-writer", ["confluence", "github", "filesystem"]), ("onboarding-helper", ["confluence", "slack"]),
        ("security-scanner", ["github", "filesystem", "tavily"]), ("qa-tester", ["github", "jira", "postgres"]),
    ];

    /// <summary>4 tenants × 10 roles = 40 agents, each on one model with the tools of its servers.</summary>
    public static Agent[] Agents(Random rng) =>
        Tenants.SelectMany((tenant, ti) => Roles.Select((role, ri) => new Agent(
            $"{tenant}-{role.Role}", tenant, Models[(ti * 3 + ri) % Models.Length],
            Tools.Where(t => role.Servers.Contains(t.Server)).ToArray(),
            TenantWeight[ti] / (1 + ri * 0.35) * (0.6 + rng.NextDouble() * 0.8),
            GatewayCountsTokens: (ti + ri) % 3 == 0))).ToArray();

    private static readonly string[] FirstNames =
        ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yara"];

    /// <summary>Users of a tenant: bigger tenants have more.</summary>
    public static string[] Users(string tenant) =>
        FirstNames.Take(tenant switch { "acme" => 20, "globex" => 14, "initech" => 9, _ => 5 }).Select(n => $"{n}@{tenant}.example").ToArray();
}
