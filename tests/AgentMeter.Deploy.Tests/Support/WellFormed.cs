using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AgentMeter.Deploy.Tests.Support;

/// <summary>
/// What the API server would refuse or silently mangle, checked offline: identity fields, strict
/// typed parsing (an unknown or misspelt field fails), empty values, and references between the
/// objects of one install (selectors, service accounts, role bindings, volumes, probe ports).
/// </summary>
public static partial class WellFormed
{
    private static readonly HashSet<string> ClusterScoped =
        ["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass"];

    private static readonly HashSet<string> Rbac = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];

    /// <param name="namespaces">where namespaced objects may be; none given: anywhere, but set</param>
    public static List<string> Problems(Install install, params string[] namespaces)
    {
        var problems = new List<string>();
        void Check(bool ok, string problem) { if (!ok) problems.Add(problem); }

        foreach (var o in install.Objects)
        {
            var id = o.Id();
            // Prometheus Operator kinds are not in the Kubernetes model; the operator's own tests validate
            // them against the upstream CRD schemas.
            if (o.Str("apiVersion")?.StartsWith("monitoring.coreos.com/", StringComparison.Ordinal) != true)
            {
                try
                {
                    // strict: a field the Kubernetes model does not know (a typo) throws.
                    k8s.KubernetesYaml.LoadAllFromString(o.ToJsonString(), null, strict: true);
                }
                catch (Exception e)
                {
                    problems.Add($"{id}: not a valid Kubernetes object: {e.Message}");
                }
            }
            Check(!string.IsNullOrEmpty(o.Str("apiVersion")), $"{id}: apiVersion is empty");
            Check(!string.IsNullOrEmpty(o.Kind()), $"{id}: kind is empty");
            var name = o.Name() ?? "";
            Check(Rbac.Contains(o.Kind() ?? "") ? RbacName().IsMatch(name) : DnsSubdomain().IsMatch(name),
                $"{id}: metadata.name '{name}' is not a valid name");
            if (ClusterScoped.Contains(o.Kind() ?? ""))
                Check(o.Namespace() is null, $"{id}: cluster-scoped object has a namespace");
            else
                Check(namespaces.Length == 0 ? !string.IsNullOrEmpty(o.Namespace()) : namespaces.Contains(o.Namespace()),
                    $"{id}: namespace should be {(namespaces.Length == 0 ? "set" : string.Join(" or ", namespaces))}");
            foreach (var map in new[] { "metadata.labels", "metadata.annotations", "spec.template.metadata.labels", "spec.selector.matchLabels" })
                foreach (var (key, value) in o.At(map) as JsonObject ?? [])
                    Check(value is JsonValue v && v.GetValueKind() == JsonValueKind.String,
                        $"{id}: {map}.{key} must be a string, is {value?.ToJsonString() ?? "null"}");
            EmptyValues(o, "", id, problems);
        }

        var ids = install.Objects.Select(o => o.Id()).ToList();
        foreach (var duplicate in ids.GroupBy(i => i).Where(g => g.Count() > 1))
            problems.Add($"{duplicate.Key} appears {duplicate.Count()} times");

        References(install, problems);
        return problems;
    }

    // Null or "" where Kubernetes expects a value; RBAC's apiGroups [""] (the core group) is the one
    // legitimate empty string.
    private static void EmptyValues(JsonNode? node, string path, string id, List<string> problems)
    {
        switch (node)
        {
            case null:
                problems.Add($"{id}: {path} is null");
                break;
            case JsonObject o:
                foreach (var (key, child) in o)
                    EmptyValues(child, path.Length == 0 ? key : $"{path}.{key}", id, problems);
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                    if (!(path.EndsWith(".apiGroups", StringComparison.Ordinal) && a[i]?.GetValue<string>() == ""))
                        EmptyValues(a[i], $"{path}[{i}]", id, problems);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length == 0:
                problems.Add($"{id}: {path} is an empty string");
                break;
        }
    }

    private static void References(Install install, List<string> problems)
    {
        var accounts = install.OfKind("ServiceAccount").Select(a => (a.Namespace(), a.Name())).ToHashSet();
        foreach (var (owner, pod) in install.Objects.PodSpecs())
        {
            var id = owner.Id();
            var account = pod.Str("serviceAccountName");
            if (account is not null && !accounts.Contains((owner.Namespace(), account)))
                problems.Add($"{id}: serviceAccountName {account} is not part of the install");
            if (owner.Kind() == "Deployment" && !Matches(owner.At("spec.selector.matchLabels") as JsonObject ?? [], owner.At("spec.template.metadata.labels")))
                problems.Add($"{id}: selector does not match the pod template's labels");
            var volumes = pod.Objects("volumes").Select(v => v.Str("name")).ToHashSet();
            foreach (var container in pod.AllContainers())
            {
                var c = $"{id} container {container.Str("name")}";
                if (string.IsNullOrEmpty(container.Str("image")))
                    problems.Add($"{c}: no image");
                foreach (var mount in container.Objects("volumeMounts"))
                    if (!volumes.Contains(mount.Str("name")))
                        problems.Add($"{c}: volumeMount {mount.Str("name")} has no volume");
                var env = container.Objects("env").ToList();
                foreach (var e in env)
                    if (e.At("value") is null == e.At("valueFrom") is null)
                        problems.Add($"{c}: env {e.Str("name")} needs exactly one of value and valueFrom");
                foreach (var dup in env.GroupBy(e => e.Str("name")).Where(g => g.Count() > 1))
                    problems.Add($"{c}: env {dup.Key} is set {dup.Count()} times");
                var ports = container.Objects("ports").Select(p => p.Str("name")).ToHashSet();
                foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
                    if (container.Str($"{probe}.httpGet.port") is { } port && !ports.Contains(port))
                        problems.Add($"{c}: {probe} uses port {port} the container does not declare");
            }
        }

        var pods = install.Objects.PodSpecs().ToList();
        foreach (var service in install.OfKind("Service"))
        {
            var selector = service.At("spec.selector") as JsonObject ?? [];
            var selected = pods.Where(p => p.Owner.Namespace() == service.Namespace() && Matches(selector, p.Owner.At("spec.template.metadata.labels"))).ToList();
            if (selected.Count == 0)
                problems.Add($"{service.Id()}: selects no pod of the install");
            foreach (var port in service.Objects("spec.ports"))
                if (port.Str("targetPort") is { } named && !selected.Any(p => p.Pod.AllContainers().SelectMany(c => c.Objects("ports")).Any(cp => cp.Str("name") == named)))
                    problems.Add($"{service.Id()}: targetPort {named} is no container port of the pods it selects");
        }

        foreach (var monitor in install.OfKind("ServiceMonitor"))
        {
            var selector = monitor.At("spec.selector.matchLabels") as JsonObject ?? [];
            var services = install.OfKind("Service").Where(s => s.Namespace() == monitor.Namespace() && Matches(selector, s.At("metadata.labels"))).ToList();
            if (services.Count == 0)
                problems.Add($"{monitor.Id()}: selects no Service of the install");
            foreach (var endpoint in monitor.Objects("spec.endpoints"))
                if (!services.Any(s => s.Objects("spec.ports").Any(p => p.Str("name") == endpoint.Str("port"))))
                    problems.Add($"{monitor.Id()}: endpoint port {endpoint.Str("port")} is no port of the Services it selects");
        }

        foreach (var binding in install.OfKind("RoleBinding").Concat(install.OfKind("ClusterRoleBinding")))
        {
            var roleKind = binding.Str("roleRef.kind") ?? "";
            var roleName = binding.Str("roleRef.name");
            var roleNamespace = roleKind == "Role" ? binding.Namespace() : null;
            if (!install.OfKind(roleKind).Any(r => r.Name() == roleName && r.Namespace() == roleNamespace))
                problems.Add($"{binding.Id()}: roleRef {roleKind} {roleName} is not part of the install");
            foreach (var subject in binding.Objects("subjects").Where(s => s.Str("kind") == "ServiceAccount"))
                if (!accounts.Contains((subject.Str("namespace"), subject.Str("name"))))
                    problems.Add($"{binding.Id()}: subject ServiceAccount {subject.Str("namespace")}/{subject.Str("name")} is not part of the install");
        }
    }

    // A non-empty label selector matching a label set.
    private static bool Matches(JsonObject selector, JsonNode? labels) =>
        selector.Count > 0 && labels is JsonObject set &&
        selector.All(kv => set[kv.Key]?.ToJsonString() == kv.Value?.ToJsonString());

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    // RBAC names are path segments: anything but '/', '%', '.' and '..'.
    [GeneratedRegex(@"^(?!\.{1,2}$)[^/%]+$")]
    private static partial Regex RbacName();
}
