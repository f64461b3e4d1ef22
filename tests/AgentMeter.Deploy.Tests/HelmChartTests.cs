using AgentMeter.Testing.Upstream;
using System.Text.Json.Nodes;
using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

public class HelmChartTests
{
    // Settings of docs/contracts.md ("Operator configuration"); label maps end in a label key.
    private static readonly HashSet<string> ContractKeys =
    [
        "Operator__Namespace", "Operator__LeaderElection__Enabled", "Operator__ResyncPeriod", "Operator__StatusSyncPeriod",
        "Operator__Workers", "Operator__WatchTimeoutSeconds", "Operator__Identity",
        "Operator__LeaderElection__LeaseDuration", "Operator__LeaderElection__RenewDeadline", "Operator__LeaderElection__RetryPeriod",
        "Operator__LoopStallPeriods", "Operator__Tenancy__Enforce", "Operator__Tenancy__ClusterWideNamespaces",
        "Aggregator__Image", "Aggregator__Replicas", "Aggregator__ServiceAccount", "Aggregator__DatabaseSecret__Name", "Aggregator__DatabaseSecret__Key",
        "Aggregator__AuthSecret__Name", "Aggregator__TenantTokensSecret", "Aggregator__TenantIngestTokensSecret", "Aggregator__OtlpGrpcPort",
        "Aggregator__ImagePullSecrets", "Aggregator__Webhooks__AllowedTargets", "Aggregator__Webhooks__Proxy",
        "Aggregator__Webhooks__PagerDutyHosts", "Monitoring__RequireMetricsToken",
        "Aggregator__Email__Host", "Aggregator__Email__Port", "Aggregator__Email__From", "Aggregator__Email__Security",
        "Aggregator__Email__CredentialsSecret", "Aggregator__Email__DashboardUrl",
        "Aggregator__Resources__Requests__Cpu", "Aggregator__Resources__Requests__Memory",
        "Aggregator__Resources__Limits__Cpu", "Aggregator__Resources__Limits__Memory", "Aggregator__Url",
    ];

    [Fact]
    public void LintPassesWithDefaultValues()
    {
        var output = Cli.Succeed(Repo.Helm, "lint", "--strict", Repo.Chart);
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", output);
    }

    [Fact]
    public void LintPassesWithProductionValues()
    {
        var output = Cli.Succeed(Repo.Helm, "lint", "--strict", Repo.Chart, "-f", Repo.ProductionValues);
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", output);
    }

    [Fact]
    public void DefaultInstallHoldsOperatorRbacAndEveryCrd()
    {
        var install = Installs.ChartDefault;
        var deployment = install.Single("Deployment", "agentmeter-operator");
        Assert.Equal("agentmeter-system", deployment.Namespace());
        // The operator's, and the aggregator pods' (read-only on the hand-off objects of the release namespace).
        Assert.Equal(["agentmeter-aggregator", "agentmeter-operator"], install.OfKind("ServiceAccount").Select(a => a.Name()).Order());
        Assert.Equal("agentmeter-aggregator", OperatorEnv(install)["Aggregator__ServiceAccount"]);
        Assert.NotEmpty(install.OfKind("ClusterRole"));
        Assert.NotEmpty(install.OfKind("Role"));
        Assert.Equal(Repo.ManifestFiles(Repo.ConfigCrds).Count, install.OfKind("CustomResourceDefinition").Count());
        // The dashboard ConfigMap is opt-in.
        Assert.Empty(install.OfKind("ConfigMap"));
    }

    [Fact]
    public void OperatorSettingsAreContractKeysAndCarryTheDefaults()
    {
        var env = OperatorEnv(Installs.ChartProduction);
        // List settings are NAME__0, NAME__1, …
        foreach (var key in env.Keys.Where(k => k.Contains("__") && !k.StartsWith("Logging__", StringComparison.Ordinal))
                     .Select(k => System.Text.RegularExpressions.Regex.Replace(k, "__[0-9]+$", "")))
            Assert.True(ContractKeys.Contains(key) || key.StartsWith("Monitoring__RuleLabels__", StringComparison.Ordinal)
                                                   || key.StartsWith("Monitoring__ServiceMonitorLabels__", StringComparison.Ordinal),
                $"{key} is not a setting of docs/contracts.md");
        env = OperatorEnv(Installs.ChartDefault);
        Assert.Equal("ghcr.io/agentmeter/agentmeter:0.1.0", env["Aggregator__Image"]);
        Assert.Equal("true", env["Operator__Tenancy__Enforce"]);
        Assert.Equal("false", env["Monitoring__RequireMetricsToken"]);
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("Aggregator__Webhooks__", StringComparison.Ordinal) || k.StartsWith("Aggregator__ImagePullSecrets", StringComparison.Ordinal)
                                             || k.StartsWith("Aggregator__Email__", StringComparison.Ordinal));
        Assert.Equal("agentmeter-database", env["Aggregator__DatabaseSecret__Name"]);
        Assert.Equal("connection-string", env["Aggregator__DatabaseSecret__Key"]);
        Assert.Equal("agentmeter-auth", env["Aggregator__AuthSecret__Name"]);
        Assert.Equal("true", env["Operator__LeaderElection__Enabled"]);
        Assert.Equal("00:05:00", env["Operator__ResyncPeriod"]);
        Assert.Equal("512Mi", env["Aggregator__Resources__Limits__Memory"]);
        Assert.Equal("4317", env["Aggregator__OtlpGrpcPort"]);
        // Unset values stay unset rather than reaching the operator as empty strings.
        Assert.False(env.ContainsKey("Aggregator__Resources__Limits__Cpu"));
        Assert.False(env.ContainsKey("Aggregator__TenantTokensSecret"));
        Assert.False(env.ContainsKey("Aggregator__Url"));
    }

    [Fact]
    public void ProductionValuesReachTheOperatorAndItsPod()
    {
        var install = Installs.ChartProduction;
        var deployment = install.Single("Deployment", "agentmeter-operator");
        var env = OperatorEnv(install);
        Assert.Equal(2, deployment.At("spec.replicas")!.GetValue<long>());
        Assert.Equal("registry.internal.example/mirror/agentmeter@sha256:4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b",
            deployment.Objects("spec.template.spec.containers").Single().Str("image"));
        // The aggregator inherits the digest-pinned image.
        Assert.Equal(deployment.Objects("spec.template.spec.containers").Single().Str("image"), env["Aggregator__Image"]);
        Assert.Equal("3", env["Aggregator__Replicas"]);
        Assert.Equal("agentmeter-postgres-app", env["Aggregator__DatabaseSecret__Name"]);
        Assert.Equal("uri", env["Aggregator__DatabaseSecret__Key"]);
        Assert.Equal("agentmeter-api-tokens", env["Aggregator__AuthSecret__Name"]);
        Assert.Equal("agentmeter-tenant-tokens", env["Aggregator__TenantTokensSecret"]);
        Assert.Equal("2", env["Aggregator__Resources__Limits__Cpu"]);
        Assert.Equal("kube-prometheus-stack", env["Monitoring__RuleLabels__release"]);
        Assert.Equal("alert-rules", env["Monitoring__RuleLabels__role"]);
        Assert.Equal("kube-prometheus-stack", env["Monitoring__ServiceMonitorLabels__release"]);
        Assert.Equal("http://otel-collector.observability.svc:4317", env["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("internal-registry", deployment.Objects("spec.template.spec.imagePullSecrets").Single().Str("name"));
        // The aggregator pulls the same image, so it gets the same registry credentials.
        Assert.Equal("internal-registry", env["Aggregator__ImagePullSecrets__0"]);
        Assert.Equal("agentmeter-tenant-ingest-tokens", env["Aggregator__TenantIngestTokensSecret"]);
        Assert.Equal("hooks.internal.example", env["Aggregator__Webhooks__AllowedTargets__0"]);
        Assert.Equal("10.40.0.0/16", env["Aggregator__Webhooks__AllowedTargets__1"]);
        Assert.Equal("http://egress-proxy.infra.svc:3128", env["Aggregator__Webhooks__Proxy"]);
        Assert.Equal("pagerduty-relay.internal.example", env["Aggregator__Webhooks__PagerDutyHosts__0"]);
        Assert.Equal("smtp.internal.example", env["Aggregator__Email__Host"]);
        Assert.Equal("587", env["Aggregator__Email__Port"]);
        Assert.Equal("AgentMeter <agentmeter@internal.example>", env["Aggregator__Email__From"]);
        Assert.Equal("StartTls", env["Aggregator__Email__Security"]);
        Assert.Equal("agentmeter-smtp", env["Aggregator__Email__CredentialsSecret"]);
        Assert.Equal("https://agentmeter.internal.example/", env["Aggregator__Email__DashboardUrl"]);
        Assert.Equal("true", env["Monitoring__RequireMetricsToken"]);
        Assert.Equal("platform-observability", env["Operator__Tenancy__ClusterWideNamespaces__0"]);
        var annotations = (JsonObject)install.Single("ServiceAccount", "agentmeter-operator").At("metadata.annotations")!;
        Assert.Null(install.Single("ServiceAccount", "agentmeter-aggregator").At("metadata.annotations"));
        Assert.Equal("arn:aws:iam::123456789012:role/agentmeter-operator", annotations["eks.amazonaws.com/role-arn"]!.GetValue<string>());
    }

    [Fact]
    public void OperatorServiceMonitorIsOptInAndValidAgainstTheUpstreamCrd()
    {
        Assert.Empty(Installs.ChartDefault.OfKind("ServiceMonitor"));
        var monitor = Installs.ChartProduction.Single("ServiceMonitor", "agentmeter-operator");
        Assert.Equal("kube-prometheus-stack", monitor.Str("metadata.labels.release"));
        Assert.Equal("1m", monitor.Objects("spec.endpoints").Single().Str("interval"));
        // WellFormedTests checks that it selects the metrics Service and that Service the operator pods.
        Assert.Single(Installs.ChartProduction.OfKind("Service"));
        var problems = UpstreamSchemas.Problems(monitor);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void UpstreamSchemaCheckRejectsAWrongServiceMonitor()
    {
        var monitor = (JsonObject)Installs.ChartProduction.Single("ServiceMonitor", "agentmeter-operator").DeepClone();
        monitor["spec"]!["endpoints"]![0]!["interval"] = 30;
        monitor["spec"]!["endpoints"]![0]!["scheme"] = "gopher";
        var problems = string.Join("\n", UpstreamSchemas.Problems(monitor));
        Assert.Contains("/spec/endpoints/0/interval", problems);
        Assert.Contains("/spec/endpoints/0/scheme", problems);
    }

    [Fact]
    public void PackagedChartRendersWhatTheFolderRenders()
    {
        // What a chart repository or an OCI registry serves: .helmignore must keep files/rbac, crds/ and dashboards/.
        var output = Path.Combine(Path.GetTempPath(), $"agentmeter-package-{Guid.NewGuid():N}");
        try
        {
            Cli.Succeed(Repo.Helm, "package", Repo.Chart, "--destination", output);
            var package = Assert.Single(Directory.GetFiles(output, "agentmeter-*.tgz"));
            var fromPackage = Cli.Succeed(Repo.Helm, "template", Installs.Release, package, "--namespace", Installs.Namespace,
                "--include-crds", "-f", Repo.ProductionValues);
            Assert.Equal(Installs.ChartProduction.Text, fromPackage);
        }
        finally
        {
            if (Directory.Exists(output))
                Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void ReleaseNameWithoutChartNameIsPrefixedConsistently()
    {
        var install = new Install("helm template team-a",
            Cli.Succeed(Repo.Helm, "template", "team-a", Repo.Chart, "--namespace", "metering"));
        var deployment = install.Single("Deployment", "team-a-agentmeter-operator");
        var account = install.Single("ServiceAccount", "team-a-agentmeter-operator");
        Assert.Equal(account.Name(), deployment.Str("spec.template.spec.serviceAccountName"));
        Assert.Contains(deployment.Objects("spec.template.spec.containers").Single().Objects("env"),
            e => e.Str("name") == "Aggregator__ServiceAccount" && e.Str("value") == "team-a-agentmeter-aggregator");
        Assert.NotNull(install.Single("RoleBinding", "team-a-agentmeter-aggregator"));
        Assert.Empty(WellFormed.Problems(install, "metering"));
    }

    [Fact]
    public void NotesTellWhichSecretsToCreateAndWhereToGoNext()
    {
        var notes = Notes(Repo.Chart, "--set", "aggregator.database.secretName=pg-app", "--set", "aggregator.database.secretKey=uri",
            "--set", "aggregator.auth.tenantTokensSecretName=tenant-tokens", "--set", "monitoring.ruleLabels.release=kps");
        Assert.Contains("kubectl -n agentmeter-system create secret generic pg-app", notes);
        Assert.Contains("--from-literal=uri=", notes);
        Assert.Contains("create secret generic agentmeter-auth", notes);
        Assert.Contains("create secret generic tenant-tokens", notes);
        Assert.Contains("kubectl apply -f config/samples/", notes);
        Assert.Contains("http://agentmeter-aggregator.agentmeter-system.svc:8080/api/v1/events", notes);
        Assert.Contains("port-forward svc/agentmeter-aggregator 8080:8080", notes);
        Assert.Contains("PrometheusRule {\"release\":\"kps\"}", notes);
        Assert.DoesNotContain("Tenant tokens are read from Secret", Notes(Repo.Chart));
    }

    /// <summary>NOTES.txt as `helm install` prints it (a client-side dry run: no cluster).</summary>
    public static string Notes(string chart, params string[] args)
    {
        var output = Cli.Succeed(Repo.Helm, ["install", Installs.Release, chart, "--namespace", Installs.Namespace, "--dry-run=client", .. args]);
        var start = output.IndexOf("NOTES:\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "helm install printed no NOTES");
        return output[start..];
    }

    public static Dictionary<string, string> OperatorEnv(Install install) =>
        install.Single("Deployment", "agentmeter-operator")
            .Objects("spec.template.spec.containers").Single(c => c.Str("name") == "operator")
            .Objects("env").Where(e => e.At("value") is not null)
            .ToDictionary(e => e.Str("name")!, e => e.Str("value")!);
}
