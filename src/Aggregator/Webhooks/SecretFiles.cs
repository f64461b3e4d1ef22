using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// Reads a Secret key a UsageAlert references from the mounted Secret the operator fills: file
/// <c>&lt;SecretsPath&gt;/&lt;namespace&gt;.&lt;secret&gt;.&lt;key&gt;</c> (docs/contracts.md). Values are never logged;
/// problems name the file, never its content.
/// </summary>
public sealed class SecretFiles(WebhookOptions options)
{
    public bool TryRead(string alertNamespace, SecretKeyRef reference, out string value, out string problem)
    {
        value = "";
        var file = $"{alertNamespace}.{reference.Name}.{reference.Key}";
        if (file.Contains('/') || file.Contains('\\') || file.Contains(".."))
        {
            problem = $"secret reference {reference.Name}/{reference.Key} is not a valid Secret name and key";
            return false;
        }
        var path = Path.Combine(options.SecretsPath, file);
        try
        {
            value = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"secret {reference.Name} key {reference.Key} is not mounted (expected file {path}): " +
                      "the operator copies referenced keys into Secret agentmeter-webhook-secrets";
            return false;
        }
        problem = value.Length == 0 ? $"secret {reference.Name} key {reference.Key} is empty ({path})" : "";
        return value.Length > 0;
    }
}
