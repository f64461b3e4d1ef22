using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Rendering;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace AgentMeter.Operator.Commands;

/// <summary>
/// <c>agentmeter-operator render -f PATH [-f PATH…] [--namespace NS] [--no-monitoring]</c>: prints, offline, every
/// object <c>run</c> would apply for those resources. Secrets referenced by webhooks are taken from Secret
/// documents in the same files, if any (run reads them from the cluster). Files are read by the aggregator's
/// reader, <see cref="ResourceDocuments.Read"/>; any skipped document makes the exit code 1.
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

        var resources = new List<IKubernetesObject<V1ObjectMeta>>();
        var secrets = new Dictionary<string, byte[]>();
        var failed = false;
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            var read = ResourceDocuments.Read(text, file);
            // Documents of other groups (Secrets, ConfigMaps in the same folder) are expected here, not errors.
            foreach (var problem in read.Problems.Where(p => !p.Ignored)) { stderr.WriteLine($"render: {problem}"); failed = true; }
            resources.AddRange(read.Resources);
            CollectSecrets(text, secrets);
        }

        var set = new ResourceSet
        {
            CostRates = resources.OfType<CostRate>().ToList(),
            UsageAlerts = resources.OfType<UsageAlert>().ToList(),
            RetentionPolicies = resources.OfType<RetentionPolicy>().ToList(),
            WebhookSecretValues = secrets,
        };
        foreach (var alert in set.UsageAlerts)
            foreach (var missing in set.MissingSecrets(alert))
                stderr.WriteLine($"render: UsageAlert {alert.Metadata.NamespaceProperty}/{alert.Metadata.Name}: Secret key {missing} is not in the given files; run reads it from the cluster");

        configuration ??= new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = configuration.GetSection("Operator").Get<OperatorOptions>() ?? new OperatorOptions();
        var renderer = new Renderer(
            configuration.GetSection("Aggregator").Get<AggregatorOptions>() ?? new AggregatorOptions(),
            configuration.GetSection("Monitoring").Get<MonitoringOptions>() ?? new MonitoringOptions(),
            ns ?? options.ResolveNamespace());
        stdout.Write(YamlJson.WriteDocuments(renderer.All(set, monitoring).Select(o => o.Body)));
        return failed ? 1 : 0;
    }

    /// <summary>Values of v1 Secrets in the files, keyed like the operator keys them (<c>ns.secret.key</c>).</summary>
    private static void CollectSecrets(string yaml, Dictionary<string, byte[]> secrets)
    {
        try
        {
            foreach (var doc in YamlJson.ReadStream(yaml).Select(d => d.Root).OfType<JsonObject>())
            {
                if (doc["apiVersion"]?.GetValue<string>() != "v1" || doc["kind"]?.GetValue<string>() != "Secret") continue;
                var ns = doc["metadata"]?["namespace"]?.GetValue<string>() ?? "default";
                var name = doc["metadata"]?["name"]?.GetValue<string>() ?? "";
                foreach (var (key, value) in doc["data"]?.AsObject() ?? [])
                    secrets[$"{ns}.{name}.{key}"] = Convert.FromBase64String(value!.GetValue<string>());
                foreach (var (key, value) in doc["stringData"]?.AsObject() ?? [])
                    secrets[$"{ns}.{name}.{key}"] = System.Text.Encoding.UTF8.GetBytes(value!.GetValue<string>());
            }
        }
        catch (YamlDotNet.Core.YamlException)
        {
            // The rest of the file is unreadable; ResourceDocuments.Read has reported where.
        }
    }
}
