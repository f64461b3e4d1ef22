using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Retention;

/// <summary>
/// A fresh migrated database and a retention pass wired as the app wires it: the policy comes from a
/// real resource file through ResourceStore, the clock is a FakeTimeProvider.
/// </summary>
public sealed class RetentionRig : IAsyncDisposable
{
    private readonly DatabaseFixture _database = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("agentmeter-retention-").FullName;

    /// <summary>Starts at 2026-11-29 12:00 UTC unless a test says otherwise.</summary>
    public FakeTimeProvider Time { get; private init; } = null!;
    public FakeLogger<RetentionPass> Log { get; } = new();
    public string ResourceDirectory => _dir;
    public string PolicyFile => Path.Combine(_dir, "policy.yaml");
    public NpgsqlDataSource Db => _database.DataSource;
    public string ConnectionString => _database.ConnectionString;
    public ResourceStore Store { get; private set; } = null!;
    public RetentionPass Pass { get; private set; } = null!;
    public RetentionOptions Options { get; } = new();

    public static async Task<RetentionRig> StartAsync(string? policySpec = null, DateTimeOffset? now = null)
    {
        var rig = new RetentionRig { Time = new FakeTimeProvider(now ?? new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero)) };
        await rig._database.InitializeAsync();
        if (policySpec is not null) rig.WritePolicy(policySpec);
        rig.Store = new ResourceStore(new ResourceOptions { Paths = [rig._dir] }, NullLogger<ResourceStore>.Instance, rig.Time);
        rig.Store.Reload();
        rig.Pass = new RetentionPass(rig.Db, rig.Store, rig.Options, rig.Time, rig.Log);
        return rig;
    }

    /// <summary>Writes the RetentionPolicy named default with these spec lines (YAML, two-space indented) and reloads.</summary>
    public void WritePolicy(string specLines)
    {
        File.WriteAllText(PolicyFile, PolicyYaml(specLines));
        Store?.Reload();
    }

    public static string PolicyYaml(string specLines) =>
        "apiVersion: agentmeter.io/v1alpha1\nkind: RetentionPolicy\nmetadata:\n  name: default\nspec:\n" +
        string.Join("\n", specLines.Split('\n').Select(l => "  " + l.Trim())) + "\n";

    public async Task<RetentionPassResult> RunAsync()
    {
        var result = await Pass.RunAsync(waitForLock: false, CancellationToken.None);
        Assert.NotNull(result);
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await _database.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { /* already gone */ }
    }
}
