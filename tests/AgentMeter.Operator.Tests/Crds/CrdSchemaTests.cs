using System.Collections;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;
using AgentMeter.Entities.Values;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Tests.Crds;

public class CrdSchemaTests
{
    private static readonly IReadOnlyDictionary<string, CrdSchema> Schemas = CrdSchema.LoadAll(RepoPaths.Crds);

    public static TheoryData<string, Type> Kinds => new()
    {
        { CostRate.KindName, typeof(CostRate) },
        { UsageAlert.KindName, typeof(UsageAlert) },
        { RetentionPolicy.KindName, typeof(RetentionPolicy) },
        { Budget.KindName, typeof(Budget) },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void CSharpTypeAndSchemaHaveTheSameFields(string kind, Type type)
    {
        var fromSchema = SchemaPaths(Schemas[kind].OpenApi, "").ToHashSet();
        var fromType = TypePaths(type, "").ToHashSet();

        Assert.Empty(fromType.Except(fromSchema).Order()); // fields the CRD would prune
        Assert.Empty(fromSchema.Except(fromType).Order()); // fields the C# type would drop
        Assert.Contains("spec", fromSchema);
        Assert.Contains("status.conditions[].observedGeneration", fromSchema);
    }

    public static TheoryData<string> Samples =>
        new(Directory.GetFiles(RepoPaths.Samples, "*.yaml").Select(Path.GetFileName).OfType<string>());

    [Theory]
    [MemberData(nameof(Samples))]
    public void SampleValidatesAndRoundTrips(string file)
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Samples, file));
        foreach (var raw in YamlJson.ReadDocuments(text).Select(d => d.AsObject()))
        {
            var schema = Schemas[raw["kind"]!.GetValue<string>()];
            var defaulted = schema.ApplyDefaults(raw);
            Assert.Empty(schema.Validate(defaulted));

            var (resources, problems) = ResourceDocuments.Read(YamlJson.Write(defaulted), file);
            Assert.Empty(problems);
            var resource = Assert.Single(resources);
            Assert.Empty(ResourceDocuments.Validate(resource));
            Assert.Equal(schema.Namespaced, resource.Metadata.NamespaceProperty is not null);

            var written = ResourceDocuments.ToJson(resource);
            Assert.True(JsonNode.DeepEquals(defaulted, written), $"round trip changed {file}:\n{defaulted}\n---\n{written}");
            Assert.True(JsonNode.DeepEquals(defaulted, schema.ApplyDefaults(written)), "C# defaults differ from schema defaults");
        }
    }

    [Fact]
    public void CSharpDefaultsMatchSchemaDefaults()
    {
        // A spec written with nothing optional set: the API server's defaults and the C# type's must agree.
        foreach (var (kind, minimal) in new (string, string)[]
        {
            (CostRate.KindName, """{"apiVersion":"agentmeter.io/v1alpha1","kind":"CostRate","metadata":{"name":"m"},"spec":{"model":"m","inputPerMillionTokens":"1","outputPerMillionTokens":"2","effectiveFrom":"2026-01-01","tokenEstimation":{}}}"""),
            (UsageAlert.KindName, """{"apiVersion":"agentmeter.io/v1alpha1","kind":"UsageAlert","metadata":{"name":"a","namespace":"n"},"spec":{"metric":"cost","threshold":"1","webhooks":[{"name":"w","url":"https://example.com"}],"prometheusRule":{}}}"""),
            (RetentionPolicy.KindName, """{"apiVersion":"agentmeter.io/v1alpha1","kind":"RetentionPolicy","metadata":{"name":"default"},"spec":{}}"""),
            (Budget.KindName, """{"apiVersion":"agentmeter.io/v1alpha1","kind":"Budget","metadata":{"name":"b","namespace":"n"},"spec":{"amount":"100","webhooks":[{"name":"w","url":"https://example.com"}]}}"""),
        })
        {
            var schema = Schemas[kind];
            var defaulted = schema.ApplyDefaults(JsonNode.Parse(minimal)!.AsObject());
            Assert.Empty(schema.Validate(defaulted));
            var typed = ResourceDocuments.Read(defaulted.ToJsonString(), kind).Resources.Single();
            var fromType = ResourceDocuments.ToJson(ResourceDocuments.Read(minimal, kind).Resources.Single());
            // Every default the schema fills in, the C# type fills in with the same value (or leaves to the reader, as null).
            foreach (var (path, value) in Leaves(defaulted))
            {
                var typedValue = Lookup(fromType, path);
                Assert.True(typedValue is null || JsonNode.DeepEquals(typedValue, value), $"{kind} {path}: schema default {value}, C# default {typedValue}");
            }
            Assert.Equal(kind, typed.Kind);
        }
    }

    [Theory]
    [InlineData("usagealert-daily-cost.yaml", "/spec/webhooks/0", "url", "\"https://hooks.example.com/x\"", "exactly one of url or urlSecretRef")]
    [InlineData("usagealert-daily-cost.yaml", "/spec/webhooks/1", "format", "\"slack\"", "routingKeySecretRef is only for pagerduty")]
    [InlineData("usagealert-daily-cost.yaml", "/spec", "metric", "\"circuitBreakerOpen\"", "circuitBreakerOpen can only be grouped by server")]
    [InlineData("usagealert-daily-cost.yaml", "/spec", "threshold", "\"1,5\"", "not a match")]
    [InlineData("usagealert-daily-cost.yaml", "/spec", "window", "\"1 hour\"", "not a match")]
    [InlineData("usagealert-daily-cost.yaml", "/spec", "metric", "\"dollars\"", "")]
    [InlineData("usagealert-daily-cost.yaml", "/spec", "severty", "\"critical\"", "")]
    [InlineData("costrate-example.yaml", "/spec", "serverLabel", "\"github\"", "exactly one of model or serverLabel")]
    [InlineData("costrate-example.yaml", "/spec", "currency", "\"usd\"", "not a match")]
    [InlineData("costrate-example.yaml", "/spec/tokenEstimation", "bytesPerToken", "0", "")]
    [InlineData("retentionpolicy-default.yaml", "/spec", "monthlyRollup", "false", "monthlyRetentionMonths needs monthlyRollup")]
    [InlineData("retentionpolicy-default.yaml", "/spec", "dailyRetentionDays", "0", "")]
    [InlineData("budget-monthly.yaml", "/spec", "amount", "\"0.00\"", "amount must be more than 0")]
    [InlineData("budget-monthly.yaml", "/spec", "amount", "\"5k\"", "not a match")]
    [InlineData("budget-monthly.yaml", "/spec", "thresholds", "[50, 80, 50]", "thresholds must not list a percentage twice")]
    [InlineData("budget-monthly.yaml", "/spec", "thresholds", "[0]", "")]
    [InlineData("budget-monthly.yaml", "/spec", "period", "\"year\"", "")]
    [InlineData("budget-monthly.yaml", "/spec", "currency", "\"usd\"", "not a match")]
    [InlineData("budget-monthly.yaml", "/spec/webhooks/0", "url", "\"https://hooks.example.com/x\"", "exactly one of url or urlSecretRef")]
    [InlineData("budget-monthly.yaml", "/spec/email", "to", "[]", "")]
    [InlineData("budget-monthly.yaml", "/spec/email", "to", "[\"finance@example.com\\r\\nBcc: evil@example.com\"]", "regular expression")]
    [InlineData("usagealert-daily-cost.yaml", "/spec", "email", "{\"to\": [\"Ops <ops@example.com>\"]}", "regular expression")]
    [InlineData("usagealert-daily-cost.yaml", "/spec", "email", "{\"cc\": [\"ops@example.com\"]}", "")]
    public void SchemaRejectsBrokenSpecs(string sample, string pointer, string field, string json, string expected)
    {
        var doc = YamlJson.ReadDocuments(File.ReadAllText(Path.Combine(RepoPaths.Samples, sample))).Single().AsObject();
        var schema = Schemas[doc["kind"]!.GetValue<string>()];
        Navigate(doc, pointer)[field] = JsonNode.Parse(json);

        var problems = schema.Validate(schema.ApplyDefaults(doc));

        Assert.NotEmpty(problems);
        Assert.Contains(problems, p => p.Contains(expected, StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("agentId", "a\nb")]
    [InlineData("toolName", "search\"} or vector(1) > bool 0 #")]
    [InlineData("model", "gpt\\4")]
    [InlineData("tenantId", "acme\u0085")]
    [InlineData("userId", "{{ $value }}")]
    public async Task TheApiServerRefusesFilterValuesThatWouldBreakPromQl(string field, string value)
    {
        await using var api = await FakeApiServer.StartAsync();
        var alert = JsonNode.Parse("""{"apiVersion":"agentmeter.io/v1alpha1","kind":"UsageAlert","metadata":{"name":"a","namespace":"n"},"spec":{"metric":"callCount","threshold":"1","filter":{}}}""")!;
        alert["spec"]!["filter"]![field] = value;
        var refused = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() =>
            api.CreateClient().CustomObjects.CreateNamespacedCustomObjectAsync(alert, "agentmeter.io", "v1alpha1", "n", "usagealerts"));
        Assert.Equal(422, (int)refused.Response.StatusCode);
        Assert.Contains($"/spec/filter/{field}: ", refused.Response.Content);
        Assert.Contains("regular expression", refused.Response.Content);
        // The validator both processes run says the same in words, for files no API server has seen.
        var typed = System.Text.Json.JsonSerializer.Deserialize(alert, EntityJson.Info<UsageAlert>())!;
        Assert.Contains(ResourceDocuments.Validate(typed), p => p.Field == $"spec.filter.{field}" && p.Problem.Contains("control characters (such as a newline), quotes, backslashes"));
    }

    [Fact]
    public async Task TheApiServerRefusesABadMailAddressAndTooManyRecipients()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateClient();
        var alert = JsonNode.Parse("""{"apiVersion":"agentmeter.io/v1alpha1","kind":"UsageAlert","metadata":{"name":"a","namespace":"n"},"spec":{"metric":"callCount","threshold":"1","email":{"to":["oncall@example.com","oncall@example.com\r\nBcc: evil@example.com"]}}}""")!;
        var refused = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() =>
            client.CustomObjects.CreateNamespacedCustomObjectAsync(alert, "agentmeter.io", "v1alpha1", "n", "usagealerts"));
        Assert.Equal(422, (int)refused.Response.StatusCode);
        Assert.Contains("/spec/email/to/1: ", refused.Response.Content);
        Assert.Contains("regular expression", refused.Response.Content);
        // The validator says the same in words, for files no API server has seen.
        var typed = System.Text.Json.JsonSerializer.Deserialize(alert, EntityJson.Info<UsageAlert>())!;
        Assert.Contains(ResourceDocuments.Validate(typed), p => p.Field == "spec.email.to[1]" && p.Problem.Contains("is not a mail address such as finance@example.com"));

        var budget = JsonNode.Parse("""{"apiVersion":"agentmeter.io/v1alpha1","kind":"Budget","metadata":{"name":"b","namespace":"n"},"spec":{"amount":"100","email":{"to":["finance@example.com"]}}}""")!;
        budget["spec"]!["email"]!["cc"] = new JsonArray(Enumerable.Range(0, EmailAddresses.MaxRecipients + 1).Select(i => (JsonNode)$"cc{i}@example.com").ToArray());
        refused = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() =>
            client.CustomObjects.CreateNamespacedCustomObjectAsync(budget, "agentmeter.io", "v1alpha1", "n", "budgets"));
        Assert.Equal(422, (int)refused.Response.StatusCode);
        Assert.Contains("/spec/email/cc", refused.Response.Content);

        budget["spec"]!["email"]!["cc"] = new JsonArray("lead@example.com");
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(budget, "agentmeter.io", "v1alpha1", "n", "budgets");
    }

    [Fact]
    public void EveryMailListCarriesTheValidatorsPatternAndLimits()
    {
        foreach (var kind in new[] { UsageAlert.KindName, Budget.KindName })
        {
            var email = Schemas[kind].OpenApi["properties"]!["spec"]!["properties"]!["email"]!;
            foreach (var list in new[] { "to", "cc" })
            {
                var property = email["properties"]![list]!;
                Assert.Equal(EmailAddresses.MaxRecipients, property["maxItems"]!.GetValue<int>());
                Assert.True(EmailAddresses.Pattern == property["items"]!["pattern"]?.GetValue<string>(), $"{kind} email.{list} pattern");
                Assert.Equal(EmailAddresses.MaxLength, property["items"]!["maxLength"]!.GetValue<int>());
            }
        }
        foreach (var ok in new[] { "finance@example.com", "first.last+alerts@mail.example.co.uk", "o'brien@example.ie", "ops-team_1@sub-domain.example" })
            Assert.True(EmailAddresses.IsValid(ok), ok);
        foreach (var bad in new[] { "Ops <ops@example.com>", "ops@example.com, evil@example.com", "ops@localhost", "\"o p\"@example.com",
                     "ops@example.com\nBcc: evil@example.com", "ops..x@example.com", "ops@-example.com", "@example.com", new string('a', 65) + "@example.com" })
            Assert.False(EmailAddresses.IsValid(bad), bad);
    }

    [Fact]
    public void EveryFilterFieldCarriesTheValidatorsPattern()
    {
        var filter = Schemas[UsageAlert.KindName].OpenApi["properties"]!["spec"]!["properties"]!["filter"]!["properties"]!.AsObject();
        Assert.Equal(["agentId", "model", "serverLabel", "tenantId", "toolName", "userId"], filter.Select(p => p.Key).Order());
        foreach (var (name, property) in filter)
        {
            Assert.True(AgentMeter.Entities.Validation.FilterValues.Pattern == property!["pattern"]?.GetValue<string>(), $"filter.{name} pattern");
            Assert.Equal(AgentMeter.Entities.Validation.FilterValues.MaxLength, property["maxLength"]!.GetValue<int>());
        }
        // Real names pass: emails, model versions, paths, colons.
        foreach (var ok in new[] { "alice@example.com", "claude-3.5-sonnet@20240620", "models/gemini-1.5-pro", "anthropic.claude-v2:1", "github.search_issues", "Ünïcode tool" })
            Assert.Matches(AgentMeter.Entities.Validation.FilterValues.Pattern, ok);
    }

    [Fact]
    public void ValidatorsCatchWhatTheSchemaCannot()
    {
        var alert = new UsageAlert { Metadata = new() { Name = "a", NamespaceProperty = "n" } };
        alert.Spec.Metric = AlertMetrics.ErrorRate;
        alert.Spec.Threshold = DecimalString.FromDecimal(5m);
        alert.Spec.Webhooks = [new AlertWebhook { Name = "w", Url = "https://a" }, new AlertWebhook { Name = "w", Url = "ftp://b" }];
        var problems = ResourceDocuments.Validate(alert).Select(p => p.ToString()).ToList();
        Assert.Contains("spec.threshold: errorRate is a ratio from 0 to 1, got 5", problems);
        Assert.Contains(problems, p => p.StartsWith("spec.webhooks[1].name:"));
        Assert.Contains(problems, p => p.StartsWith("spec.webhooks[1].url:"));

        var policy = new RetentionPolicy { Metadata = new() { Name = "default" } };
        policy.Spec.Schedule = "61 * * * *";
        policy.Spec.TimeZone = "Mars/Olympus";
        Assert.Equal(["spec.schedule", "spec.timeZone"], ResourceDocuments.Validate(policy).Select(p => p.Field));

        var rate = new CostRate { Metadata = new() { Name = "r" } };
        rate.Spec.Model = "m";
        rate.Spec.EffectiveFrom = "2026-02-30";
        Assert.Equal(["spec.inputPerMillionTokens", "spec.effectiveFrom"],
            ResourceDocuments.Validate(rate).Select(p => p.Field));
    }

    [Fact]
    public void PrinterColumnsAreTheDesignsOnes()
    {
        // Priority 0 columns are what `kubectl get` shows; priority 1 only `-o wide`.
        static IEnumerable<string> Columns(string file, int priority) =>
            YamlJson.ReadDocuments(File.ReadAllText(Path.Combine(RepoPaths.Crds, file))).Single()["spec"]!["versions"]![0]!
                ["additionalPrinterColumns"]!.AsArray().Where(c => (c!["priority"]?.GetValue<int>() ?? 0) == priority)
                .Select(c => c!["name"]!.GetValue<string>());
        Assert.Equal(["Model", "Input/1M", "Output/1M", "Effective", "Ready", "Age"], Columns("agentmeter.io_costrates.yaml", 0));
        Assert.Equal(["Metric", "Threshold", "Window", "State", "Current", "Last Fired", "Age"], Columns("agentmeter.io_usagealerts.yaml", 0));
        Assert.Equal(["Ready", "Reason"], Columns("agentmeter.io_usagealerts.yaml", 1));
        foreach (var schema in Schemas.Values)
            Assert.Equal(["agentmeter"], YamlJson.ReadDocuments(File.ReadAllText(Directory.GetFiles(RepoPaths.Crds, $"*_{schema.Plural}.yaml").Single()))
                .Single()["spec"]!["names"]!["categories"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    private static JsonObject Navigate(JsonObject doc, string pointer)
    {
        JsonNode node = doc;
        foreach (var part in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
            node = int.TryParse(part, out var i) ? node[i]! : node[part]!;
        return node.AsObject();
    }

    private static IEnumerable<(string, JsonNode)> Leaves(JsonNode node, string path = "")
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (k, v) in obj)
                    if (v is not null) foreach (var leaf in Leaves(v, path + "/" + k)) yield return leaf;
                break;
            case JsonArray arr:
                for (var i = 0; i < arr.Count; i++)
                    foreach (var leaf in Leaves(arr[i]!, path + "/" + i)) yield return leaf;
                break;
            default:
                yield return (path, node);
                break;
        }
    }

    private static JsonNode? Lookup(JsonNode? node, string path)
    {
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            node = node switch { JsonObject o => o[part], JsonArray a => a[int.Parse(part)], _ => null };
        return node;
    }

    private static IEnumerable<string> SchemaPaths(JsonObject schema, string prefix)
    {
        if (schema["properties"] is JsonObject props)
            foreach (var (name, child) in props)
            {
                yield return prefix + name;
                foreach (var p in SchemaPaths(child!.AsObject(), prefix + name + ".")) yield return p;
            }
        if (schema["items"] is JsonObject items)
            foreach (var p in SchemaPaths(items, prefix.TrimEnd('.') + "[].")) yield return p;
    }

    private static readonly Type[] Leaf = [typeof(string), typeof(bool), typeof(int), typeof(long), typeof(DateTime), typeof(DecimalString), typeof(V1ObjectMeta)];

    private static IEnumerable<string> TypePaths(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonPropertyNameAttribute>() is not { } json) continue;
            yield return prefix + json.Name;
            var t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var path = prefix + json.Name;
            if (t != typeof(string) && typeof(IEnumerable).IsAssignableFrom(t))
            {
                t = t.GetGenericArguments().Single();
                path += "[]";
            }
            if (!Leaf.Contains(t))
                foreach (var p in TypePaths(t, path + ".")) yield return p;
        }
    }
}
