using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// Reads a Secret key a UsageAlert or Budget references, only from what the operator handed off for the resource's
/// own namespace: in the cluster key <c>&lt;secret&gt;.&lt;key&gt;</c> of Secret <c>agentmeter-webhook-secrets-&lt;ns&gt;</c>
/// (<see cref="HandOffCache"/>), else file <c>&lt;SecretsPath&gt;/&lt;ns&gt;/&lt;secret&gt;.&lt;key&gt;</c> (docs/contracts.md).
/// Values are never logged; problems name the Secret or file, never its content.
/// </summary>
public sealed class SecretFiles(WebhookOptions options, HandOffCache handOff)
{
    public bool TryRead(string alertNamespace, SecretKeyRef reference, out string value, out string problem)
    {
        value = "";
        var key = HandOff.SecretKey(reference);
        if (key.Contains('/') || key.Contains('\\') || key.Contains("..") || alertNamespace.Contains('/') || alertNamespace.Contains(".."))
        {
            problem = $"secret reference {reference.Name}/{reference.Key} is not a valid Secret name and key";
            return false;
        }
        if (handOff.Active)
        {
            if (!handOff.TryGetSecret(alertNamespace, reference, out value))
            {
                problem = $"secret {reference.Name} key {reference.Key} is not in Secret {HandOff.WebhookSecret(alertNamespace)}: " +
                          $"the operator copies the keys a resource references from Secrets labelled {HandOff.OptInLabel}=\"true\" of its namespace";
                return false;
            }
        }
        else
        {
            var path = Path.Combine(options.SecretsPath, alertNamespace, key);
            try
            {
                value = File.ReadAllText(path).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"secret {reference.Name} key {reference.Key} is not mounted (expected file {path})";
                return false;
            }
        }
        problem = value.Length == 0 ? $"secret {reference.Name} key {reference.Key} is empty" : "";
        return value.Length > 0;
    }
}
