using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Machinery;

namespace AgentMeter.Operator.Tests.Machinery;

/// <summary>The informer's transform keeps every field the reconcilers read, drops annotations and shares the strings alerts repeat.</summary>
public class CacheTransformTests
{
    private static UsageAlert Alert(string name) => JsonSerializer.Deserialize(new JsonObject
    {
        ["apiVersion"] = "agentmeter.io/v1alpha1", ["kind"] = "UsageAlert",
        ["metadata"] = new JsonObject
        {
            ["name"] = name, ["namespace"] = "team-a", ["uid"] = $"uid-{name}", ["resourceVersion"] = "42", ["generation"] = 3,
            ["labels"] = new JsonObject { ["tier"] = "gold" },
            ["annotations"] = new JsonObject { ["kubectl.kubernetes.io/last-applied-configuration"] = "{\"spec\":{}}" },
        },
        ["spec"] = new JsonObject
        {
            ["metric"] = "errorRate", ["threshold"] = "0.05", ["window"] = "1h", ["groupBy"] = "tool", ["severity"] = "critical",
            ["cooldown"] = "10m", ["filter"] = new JsonObject { ["agentId"] = "support-bot" },
            ["webhooks"] = new JsonArray(new JsonObject { ["name"] = "oncall", ["url"] = "https://hooks.example.com/x", ["format"] = "slack" }),
        },
        ["status"] = new JsonObject
        {
            ["state"] = "Firing", ["currentValue"] = "0.07", ["lastEvaluationTime"] = "2026-12-06T10:00:00Z", ["firingGroups"] = new JsonArray("search"),
            ["observedGeneration"] = 3,
            ["conditions"] = new JsonArray(
                Condition("Ready", "True", "Valid", "spec is valid and handed to the aggregator"),
                Condition("RuleGenerated", "True", "RuleApplied", $"PrometheusRule usagealert-{name}: a rule expression long enough not to be shared"),
                Condition("StatusSynced", "True", "Synced", "state copied from the aggregator")),
        },
    }, EntityJson.Info<UsageAlert>())!;

    private static JsonObject Condition(string type, string status, string reason, string message) => new()
    {
        ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message,
        ["observedGeneration"] = 3, ["lastTransitionTime"] = "2026-12-06T09:00:00Z",
    };

    [Fact]
    public void KeepsEveryFieldAndSharesTheRepeatedStrings()
    {
        var pool = new StringPool();
        var (a, b) = (Alert("a"), Alert("b"));
        var before = ResourceDocuments.ToJson(a);
        before["metadata"]!.AsObject().Remove("annotations");

        CacheTransform.Compact(a, pool);
        CacheTransform.Compact(b, pool);

        Assert.True(JsonNode.DeepEquals(before, ResourceDocuments.ToJson(a)), ResourceDocuments.ToJson(a).ToJsonString());
        Assert.Same(a.Metadata.NamespaceProperty, b.Metadata.NamespaceProperty);
        Assert.Same(a.ApiVersion, b.ApiVersion);
        Assert.Same(a.Spec.Metric, b.Spec.Metric);
        Assert.Null(a.Metadata.Annotations);
        Assert.Same(a.Status!.State, b.Status!.State);
        Assert.Same(a.Status.FiringGroups![0], b.Status.FiringGroups![0]);
        foreach (var (x, y) in a.Status.Conditions!.Zip(b.Status.Conditions!))
        {
            Assert.Same(x.Type, y.Type);
            Assert.Same(x.Reason, y.Reason);
        }
        Assert.Same(a.Status.Conditions![2].Message, b.Status.Conditions![2].Message);
        // A long message (the rule's expression) is the alert's own: never pooled.
        Assert.NotSame(a.Status.Conditions![1].Message, b.Status.Conditions![1].Message);
    }

    [Fact]
    public void ThePoolStopsGrowingAtItsCapacityAndKeepsWhatItHolds()
    {
        var pool = new StringPool(capacity: 2);
        var first = pool.Intern(new string('x', 3));
        pool.Intern("y");
        var third = new string('z', 3);

        Assert.Same(third, pool.Intern(third));
        Assert.Equal(2, pool.Count);
        Assert.Same(first, pool.Intern(new string('x', 3)));
        var longer = new string('l', StringPool.MaxLength + 1);
        Assert.Same(longer, pool.Intern(longer));
        Assert.Equal(2, pool.Count);
    }
}
