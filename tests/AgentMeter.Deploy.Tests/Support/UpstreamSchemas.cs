using System.Text.Json.Nodes;

namespace AgentMeter.Deploy.Tests.Support;

/// <summary>
/// The upstream prometheus-operator CRDs kept in shared/schemas: their openAPIV3Schema validates our
/// ServiceMonitors and PrometheusRules strictly (unknown fields refused), as the API server would.
/// </summary>
public static class UpstreamSchemas
{
    public static List<string> Problems(JsonObject o)
    {
        var file = Path.Combine(RepoPaths.SharedSchemas, $"monitoring.coreos.com_{o.Kind()!.ToLowerInvariant()}s.yaml");
        Assert.True(File.Exists(file), $"no upstream schema for {o.Kind()} at {file}");
        var crd = Yaml.Objects(File.ReadAllText(file)).Single();
        var version = o.Str("apiVersion")!.Split('/')[1];
        var openApi = (JsonObject)crd.Objects("spec.versions").Single(v => v.Str("name") == version).At("schema.openAPIV3Schema")!;
        return OpenApiSchema.Validate(OpenApiSchema.Build(openApi, strict: true), o).Select(p => $"{o.Id()} {p}").ToList();
    }
}
