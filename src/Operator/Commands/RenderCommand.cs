using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Tenancy;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace AgentMeter.Operator.Commands;

/// <summary>
/// <c>agentmeter-operator render -f PATH [-f PATH…] [--namespace NS] [--no-monitoring]</c>: prints, offline, every
/// object <c>run</c> would apply for those resources. Secrets referenced by webhooks are taken from Secret
/// documents in the same files, if any (run reads them from the cluster), and only when they opt in as in run.
/// Namespace documents in the files bind namespaces to tenants as in run; files without any are rendered as written
/// (render cannot see the cluster's namespaces). Files are read by the aggregator's reader,
/// <see cref="ResourceDocuments.Read"/>; any skipped or refused document makes the exit code 1.
/// </summary>
public static class RenderCommand
{
    public const string Usage = "usage: agentmeter-operator render -f PATH [-f PATH ...] [--namespace NS] [--no-monitoring]";

    /// <summary>Renders with the operator configuration from <paramref name="configuration"/> (environment variables when null).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, IConfiguration? configuration = null)
    {
        var paths = new List<string>();
        string? ns = null;
        var monitoring = true;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-f" or "--filename" when i + 1 < args.Length: paths.Add(args[++i]); break;
                case "-n" or "--namespace" when i + 1 < args.Length: ns = args[++i]; break;
                case "--no-monitoring": monitoring = false; break;
                default:
                    stderr.WriteLine($"render: unknown argument \"{args[i]}\"\n{Usage}");
                    return 2;
            }
        }
        if (paths.Count == 0) { stderr.WriteLine($"render: no -f PATH given\n{Usage}"); return 2; }

        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
                files.AddRange(Directory.EnumerateFiles(path, "*.*", SearchOption.AllDirectories)
                    .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
            else if (File.Exists(path)) files.Add(path);
            else { stderr.WriteLine($"render: {path}: no such file or folder"); return 2; }
        }

        configuration ??= new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = configuration.GetSection("Operator").Get<OperatorOptions>() ?? new OperatorOptions();
        var aggregator = configuration.GetSection("Aggregator").Get<AggregatorOptions>() ?? new AggregatorOptions();
        var rules = aggregator.Rules();
        ns ??= options.ResolveNamespace();

        var resources = new List<IKubernetesObject<V1ObjectMeta>>();
        var cluster = new ClusterDocuments();
        var failed = false;
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            var read = ResourceDocuments.Read(text, file, rules);
            // Documents of other groups (Secrets, ConfigMaps in the same folder) are expected here, not errors.
            foreach (var problem in read.Problems.Where(p => !p.Ignored)) { stderr.WriteLine($"render: {problem}"); failed = true; }
            resources.AddRange(read.Resources);
            cluster.Collect(text);
        }

        var tenancy = new UsageAlertTenancy(new TenantRule(
            cluster.Namespaces.Count > 0 ? options.Tenancy : new TenancyOptions { Enforce = false }, ns,
            name => cluster.Namespaces.GetValueOrDefault(name)));
        var budgetTenancy = new BudgetTenancy(tenancy.Rule);
        var budgets = new List<Budget>();
        foreach (var budget in resources.OfType<Budget>())
        {
            if (budgetTenancy.HandOff(budget) is { } handedOff) { budgets.Add(handedOff); continue; }
            stderr.WriteLine($"render: Budget {budget.Metadata.NamespaceProperty}/{budget.Metadata.Name} is left out, {TenantRule.ReasonNotAllowed}: {budgetTenancy.Decide(budget).Message}");
            failed = true;
        }
        var alerts = new List<UsageAlert>();
        foreach (var alert in resources.OfType<UsageAlert>())
        {
            if (tenancy.HandOff(alert) is { } handedOff) { alerts.Add(handedOff); continue; }
            stderr.WriteLine($"render: UsageAlert {alert.Metadata.NamespaceProperty}/{alert.Metadata.Name} is left out, {TenantRule.ReasonNotAllowed}: {tenancy.Decide(alert).Message}");
            failed = true;
        }
        var set = new RenderInput
        {
            CostRates = resources.OfType<CostRate>().ToList(),
            UsageAlerts = alerts,
            RetentionPolicies = resources.OfType<RetentionPolicy>().ToList(),
            Budgets = budgets,
            WebhookSecretValues = cluster.SecretValues,
            SecretsNotAllowed = cluster.SecretsNotAllowed,
            Rules = rules,
        };
        foreach (var alert in set.UsageAlerts.Concat<IKubernetesObject<V1ObjectMeta>>(set.Budgets))
        {
            foreach (var secret in set.NotAllowedSecrets(alert))
                stderr.WriteLine($"render: {alert.Kind} {alert.Metadata.NamespaceProperty}/{alert.Metadata.Name}: Secret {secret} is not labelled {RenderInput.WebhookSecretLabel}=\"true\" and is not copied");
            foreach (var missing in set.MissingSecrets(alert))
                stderr.WriteLine($"render: {alert.Kind} {alert.Metadata.NamespaceProperty}/{alert.Metadata.Name}: Secret key {missing} is not in the given files; run reads it from the cluster");
        }

        var renderer = new Renderer(aggregator, configuration.GetSection("Monitoring").Get<MonitoringOptions>() ?? new MonitoringOptions(), ns);
        stdout.Write(YamlJson.WriteDocuments(renderer.All(set, monitoring).Select(o => o.Body)));
        return failed ? 1 : 0;
    }

    /// <summary>The v1 Secrets and Namespaces among the files' documents, as run would read them from the cluster.</summary>
    private sealed class ClusterDocuments
    {
        /// <summary>Values of opted-in Secrets, keyed like the operator keys them (<c>ns.secret.key</c>).</summary>
        public Dictionary<string, byte[]> SecretValues { get; } = [];
        public HashSet<string> SecretsNotAllowed { get; } = [];
        /// <summary>Labels of each Namespace document, by name.</summary>
        public Dictionary<string, IDictionary<string, string>> Namespaces { get; } = [];

        public void Collect(string yaml)
        {
            try
            {
                foreach (var doc in YamlJson.ReadStream(yaml).Select(d => d.Root).OfType<JsonObject>())
                {
                    if (doc["apiVersion"]?.GetValue<string>() != "v1") continue;
                    var name = doc["metadata"]?["name"]?.GetValue<string>() ?? "";
                    var labels = (doc["metadata"]?["labels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "")
                                 ?? new Dictionary<string, string>();
                    switch (doc["kind"]?.GetValue<string>())
                    {
                        case "Namespace":
                            Namespaces[name] = labels;
                            break;
                        case "Secret":
                            CollectSecret(doc, doc["metadata"]?["namespace"]?.GetValue<string>() ?? ResourceNamespace.Default, name, labels);
                            break;
                    }
                }
            }
            catch (YamlDotNet.Core.YamlException)
            {
                // The rest of the file is unreadable; ResourceDocuments.Read has reported where.
            }
        }

        private void CollectSecret(JsonObject doc, string ns, string name, Dictionary<string, string> labels)
        {
            if (!RenderInput.OptedIn(labels))
            {
                SecretsNotAllowed.Add($"{ns}/{name}");
                return;
            }
            foreach (var (key, value) in doc["data"]?.AsObject() ?? [])
                SecretValues[$"{ns}.{name}.{key}"] = Convert.FromBase64String(value!.GetValue<string>());
            foreach (var (key, value) in doc["stringData"]?.AsObject() ?? [])
                SecretValues[$"{ns}.{name}.{key}"] = System.Text.Encoding.UTF8.GetBytes(value!.GetValue<string>());
        }
    }
}
