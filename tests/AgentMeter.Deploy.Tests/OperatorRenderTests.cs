using AgentMeter.Testing.Upstream;
using System.Text.Json.Nodes;
using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

/// <summary>
/// The chart configures the operator; the operator makes the aggregator. These run the real
/// `agentmeter-operator render` with the environment the chart gives the operator container and
/// check that the values arrive in the aggregator's objects, and that its pod is as locked down
/// as the operator's.
/// </summary>
public class OperatorRenderTests
{
    private static readonly Lazy<Install> defaultRender = new(() => Render(Installs.ChartDefault));
    private static readonly Lazy<Install> productionRender = new(() => Render(Installs.ChartProduction));

    private static Install Render(Install chart)
    {
        Assert.True(File.Exists(Repo.OperatorDll), $"{Repo.OperatorDll} is missing: build the solution first (make build)");
        var env = HelmChartTests.OperatorEnv(chart);
        var result = Cli.Run("dotnet", env, Repo.OperatorDll, "render", "-f", Repo.Samples,
            "-f", Path.Combine(Repo.Root, "tests", "AgentMeter.Deploy.Tests", "usagealert-error-rate.yaml"), "--namespace", Installs.Namespace);
        Assert.True(result.ExitCode == 0, result.Describe($"agentmeter-operator render -f config/samples ({chart})"));
        return new Install($"agentmeter-operator render with the env of {chart}", result.Stdout);
    }

    private static JsonObject Aggregator(Install render) =>
        render.Single("Deployment", "agentmeter-aggregator").Objects("spec.template.spec.containers").Single();

    [Fact]
    public void DefaultValuesGiveTheAggregatorTheChartsImageAndSecrets()
    {
        var render = defaultRender.Value;
        var operatorImage = Installs.ChartDefault.Single("Deployment", "agentmeter-operator")
            .Objects("spec.template.spec.containers").Single().Str("image");
        var container = Aggregator(render);
        Assert.Equal(operatorImage, container.Str("image"));
        Assert.Equal(1, render.Single("Deployment", "agentmeter-aggregator").At("spec.replicas")!.GetValue<long>());
        var database = container.Objects("env").Single(e => e.Str("name") == "ConnectionStrings__Postgres");
        Assert.Equal("agentmeter-database", database.Str("valueFrom.secretKeyRef.name"));
        Assert.Equal("connection-string", database.Str("valueFrom.secretKeyRef.key"));
        Assert.Equal("agentmeter-auth", container.Objects("env").Single(e => e.Str("name") == "Auth__AdminToken").Str("valueFrom.secretKeyRef.name"));
        Assert.Equal("256Mi", container.Str("resources.requests.memory"));
        Assert.Equal("512Mi", container.Str("resources.limits.memory"));
    }

    [Fact]
    public void ProductionValuesReachTheAggregatorAndTheMonitoringObjects()
    {
        var render = productionRender.Value;
        var deployment = render.Single("Deployment", "agentmeter-aggregator");
        var container = Aggregator(render);
        Assert.Equal(3, deployment.At("spec.replicas")!.GetValue<long>());
        Assert.EndsWith("@sha256:4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b", container.Str("image"));
        var database = container.Objects("env").Single(e => e.Str("name") == "ConnectionStrings__Postgres");
        Assert.Equal("agentmeter-postgres-app", database.Str("valueFrom.secretKeyRef.name"));
        Assert.Equal("uri", database.Str("valueFrom.secretKeyRef.key"));
        Assert.Equal("agentmeter-api-tokens", container.Objects("env").Single(e => e.Str("name") == "Auth__IngestToken").Str("valueFrom.secretKeyRef.name"));
        Assert.Contains(deployment.Objects("spec.template.spec.volumes"), v => v.Str("secret.secretName") == "agentmeter-tenant-tokens");
        Assert.Equal("500m", container.Str("resources.requests.cpu"));
        Assert.Equal("1Gi", container.Str("resources.requests.memory"));
        Assert.Equal("2", container.Str("resources.limits.cpu"));
        Assert.Equal("2Gi", container.Str("resources.limits.memory"));
        Assert.Equal("kube-prometheus-stack", render.Single("ServiceMonitor", "agentmeter-aggregator").Str("metadata.labels.release"));
        // monitoring.metricsToken: the aggregator asks for the token, the ServiceMonitor (validated upstream below) carries it.
        var env = container.Objects("env").ToDictionary(e => e.Str("name")!);
        Assert.Equal("true", env["Metrics__RequireToken"].Str("value"));
        Assert.Equal("metrics-token", env["Auth__MetricsToken"].Str("valueFrom.secretKeyRef.key"));
        var authorization = render.Single("ServiceMonitor", "agentmeter-aggregator").Objects("spec.endpoints").Single().At("authorization")!;
        Assert.Equal("Bearer", authorization["type"]!.GetValue<string>());
        Assert.Equal("agentmeter-api-tokens", authorization["credentials"]!["name"]!.GetValue<string>());
        Assert.Equal("http://egress-proxy.infra.svc:3128", env["Webhooks__Proxy"].Str("value"));
        Assert.Equal("/etc/agentmeter/tenant-ingest-tokens", env["Auth__TenantIngestTokensPath"].Str("value"));
        Assert.Equal("internal-registry", deployment.Objects("spec.template.spec.imagePullSecrets").Single().Str("name"));
        var rules = render.OfKind("PrometheusRule").ToList();
        Assert.Contains(rules, r => r.Name() == "agentmeter-tool-errors" && r.Namespace() == "team-a");
        Assert.All(rules, r =>
        {
            Assert.Equal("kube-prometheus-stack", r.Str("metadata.labels.release"));
            Assert.Equal("alert-rules", r.Str("metadata.labels.role"));
        });
    }

    [Fact]
    public void RenderIsWellFormedAndTheAggregatorPodIsRestrictedAndRunsAsTheImagesUser()
    {
        foreach (var render in new[] { defaultRender.Value, productionRender.Value })
        {
            // The aggregator's ServiceAccount comes with the chart's RBAC, not from the operator: judged together.
            var chart = render == defaultRender.Value ? Installs.ChartDefault : Installs.ChartProduction;
            var withAccounts = new Install(render.Name, render.Text + "\n---\n" + string.Join("\n---\n", chart.OfKind("ServiceAccount").Select(a => a.ToJsonString())));
            var problems = WellFormed.Problems(withAccounts)
                .Concat(render.Objects.Where(o => o.Str("apiVersion")!.StartsWith("monitoring.coreos.com/", StringComparison.Ordinal))
                    .SelectMany(o => UpstreamSchemas.Problems(o).Select(p => $"{o.Id()} {p}"))).ToList();
            Assert.True(problems.Count == 0, $"{render}:\n{string.Join("\n", problems)}");
            var (owner, pod) = Assert.Single(render.Objects.PodSpecs());
            var violations = RestrictedPodSecurity.Violations(pod);
            Assert.True(violations.Count == 0, $"{render} {owner.Id()}:\n{string.Join("\n", violations)}");
            Assert.Equal(DockerfileTests.ImageUid(), pod.At("securityContext.runAsUser")!.GetValue<long>());
        }
    }

    [Fact]
    public void AggregatorContainerStartsThroughTheImagesEntrypoint()
    {
        // The operator sets only args ("serve --resources ..."), so the image's ENTRYPOINT must be the aggregator.
        var container = Aggregator(defaultRender.Value);
        Assert.Null(container.At("command"));
        Assert.Equal("serve", container.At("args")![0]!.GetValue<string>());
        Assert.Equal("[\"agentmeter-aggregator\"]", DockerfileTests.Entrypoint());
    }
}
