using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;

namespace AgentMeter.Operator.Tests.Support;

/// <summary>The rules of config/rbac as an authorizer would read them: ClusterRoles everywhere, Roles in their namespace.</summary>
public sealed class RbacRules
{
    private sealed record Rule(string? Namespace, HashSet<string> Groups, HashSet<string> Resources, HashSet<string> Verbs);

    private readonly List<Rule> _rules = [];

    /// <summary>The rules config/rbac binds to ServiceAccount <paramref name="account"/>.</summary>
    public static RbacRules Load(string folder, string account = "agentmeter-operator")
    {
        var rbac = new RbacRules();
        var docs = Directory.GetFiles(folder, "*.yaml")
            .SelectMany(f => YamlJson.ReadDocuments(File.ReadAllText(f))).OfType<JsonObject>().ToList();
        var bound = docs.Where(d => d["kind"]?.GetValue<string>() is "RoleBinding" or "ClusterRoleBinding")
            .Where(b => b["subjects"]!.AsArray().Any(s => s!["name"]!.GetValue<string>() == account))
            .Select(b => (Kind: b["roleRef"]!["kind"]!.GetValue<string>(), Name: b["roleRef"]!["name"]!.GetValue<string>()))
            .ToHashSet();
        foreach (var role in docs.Where(d => d["kind"]?.GetValue<string>() is "Role" or "ClusterRole"))
        {
            var kind = role["kind"]!.GetValue<string>();
            if (!bound.Contains((kind, role["metadata"]!["name"]!.GetValue<string>()))) continue;
            var ns = kind == "Role" ? role["metadata"]!["namespace"]!.GetValue<string>() : null;
            foreach (var rule in role["rules"]!.AsArray())
                rbac._rules.Add(new Rule(ns, Set(rule!["apiGroups"]), Set(rule["resources"]), Set(rule["verbs"])));
        }
        return rbac;
    }

    public bool Allows(RecordedRequest request) => _rules.Any(r =>
        (r.Namespace is null || r.Namespace == request.Namespace) &&
        r.Groups.Contains(request.Group) && r.Resources.Contains(request.Resource) && r.Verbs.Contains(request.Verb));

    /// <summary>Every (verb, resource) granted, for the least-privilege check.</summary>
    public IEnumerable<string> Grants => _rules.SelectMany(r => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{v} {res}"))).Distinct();

    private static HashSet<string> Set(JsonNode? node) => node!.AsArray().Select(n => n!.GetValue<string>()).ToHashSet();
}
