namespace AgentMeter.Operator.Configuration;

/// <summary>Section <c>Operator</c> (docs/contracts.md).</summary>
public sealed class OperatorOptions
{
    public const string FieldManager = "agentmeter-operator";
    public const string LeaseName = "agentmeter-operator";

    /// <summary>Where the aggregator workload and the Lease live; empty = the pod's namespace.</summary>
    public string Namespace { get; set; } = "";
    public LeaderElectionOptions LeaderElection { get; set; } = new();
    public TimeSpan ResyncPeriod { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan StatusSyncPeriod { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Concurrent reconciles (never two of one key).</summary>
    public int Workers { get; set; } = 2;
    /// <summary>How long one watch request stays open before it is restarted from the last resourceVersion.</summary>
    public int WatchTimeoutSeconds { get; set; } = 300;
    /// <summary>Holder identity on the Lease; empty = host name plus a random suffix.</summary>
    public string Identity { get; set; } = "";
    public TenancyOptions Tenancy { get; set; } = new();
    /// <summary>/readyz fails when a loop has not completed a cycle within this many of its periods.</summary>
    public int LoopStallPeriods { get; set; } = 3;

    /// <summary>The configured namespace, else <c>POD_NAMESPACE</c>, else the service-account file, else <c>default</c>.</summary>
    public string ResolveNamespace()
    {
        if (!string.IsNullOrEmpty(Namespace)) return Namespace;
        if (Environment.GetEnvironmentVariable("POD_NAMESPACE") is { Length: > 0 } fromEnv) return fromEnv;
        const string serviceAccountFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
        return File.Exists(serviceAccountFile) ? File.ReadAllText(serviceAccountFile).Trim() : "default";
    }
}

public sealed class LeaderElectionOptions
{
    public bool Enabled { get; set; } = true;
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);
}
