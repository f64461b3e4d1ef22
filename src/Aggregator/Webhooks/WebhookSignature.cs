using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// HMAC-SHA256 signature of a webhook: header <c>X-AgentMeter-Signature: sha256=&lt;hex&gt;</c> over
/// <c>&lt;X-AgentMeter-Timestamp&gt;.&lt;body&gt;</c> (unix seconds, a dot, the raw body bytes), so a receiver
/// can reject replays by timestamp as well as forgeries.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-AgentMeter-Signature";
    public const string TimestampHeader = "X-AgentMeter-Timestamp";

    public static string Sign(string secret, long unixSeconds, string body)
    {
        var message = Encoding.UTF8.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + "." + body);
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    /// <summary>What a receiver does: recompute and compare in constant time.</summary>
    public static bool Verify(string secret, string timestamp, string body, string signature) =>
        long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var ts) &&
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, ts, body)), Encoding.ASCII.GetBytes(signature));
}
