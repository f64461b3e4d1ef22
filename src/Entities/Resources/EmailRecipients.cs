using System.Text.Json.Serialization;

namespace AgentMeter.Entities.Resources;

/// <summary>
/// Mail recipients of a resource's notifications (UsageAlert and Budget <c>spec.email</c>): one mail per
/// notification goes to every address of <see cref="To"/> and <see cref="Cc"/>.
/// </summary>
public sealed class EmailRecipients
{
    [JsonPropertyName("to")] public IList<string> To { get; set; } = [];
    [JsonPropertyName("cc")] public IList<string>? Cc { get; set; }
}
