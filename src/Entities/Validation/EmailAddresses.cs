using System.Text.RegularExpressions;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Entities.Validation;

/// <summary>
/// Checks a <c>spec.email</c> (UsageAlert and Budget). An address is an RFC 5322 addr-spec in its dot-atom form
/// (<c>local@domain.tld</c>): no display name, quoted local part, comment or address literal, so nothing in it can
/// end a header or smuggle another recipient. The CRDs carry the same pattern and limits.
/// </summary>
public static partial class EmailAddresses
{
    /// <summary>The CRD pattern of one address (Go RE2 and .NET read it alike): dot-atom local part, DNS host name with a dot.</summary>
    public const string Pattern =
        "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";

    /// <summary>Longest address (RFC 5321 path limit less the angle brackets).</summary>
    public const int MaxLength = 254;

    /// <summary>Longest local part (RFC 5321).</summary>
    public const int MaxLocalLength = 64;

    /// <summary>Most addresses in <c>to</c>, and in <c>cc</c>.</summary>
    public const int MaxRecipients = 32;

    [GeneratedRegex(Pattern)]
    private static partial Regex Address();

    public static bool IsValid(string? address) =>
        address is { Length: > 0 and <= MaxLength } && Address().IsMatch(address) && address.IndexOf('@') <= MaxLocalLength;

    public static void Check(ProblemList p, EmailRecipients? email, string field = "spec.email")
    {
        if (email is null) return;
        if (email.To is null || email.To.Count == 0) p.Add($"{field}.to", "needs at least one address");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        Check(p, email.To, $"{field}.to", seen);
        Check(p, email.Cc, $"{field}.cc", seen);
    }

    private static void Check(ProblemList p, IList<string>? addresses, string field, HashSet<string> seen)
    {
        if (addresses is null) return;
        if (addresses.Count > MaxRecipients) p.Add(field, $"lists {addresses.Count} addresses, at most {MaxRecipients} are allowed");
        for (var i = 0; i < addresses.Count; i++)
        {
            if (!IsValid(addresses[i]))
                p.Add($"{field}[{i}]", $"\"{Printable(addresses[i])}\" is not a mail address such as finance@example.com " +
                                       "(a plain local@domain address: no display name, quotes or spaces)");
            else if (!seen.Add(addresses[i])) p.Add($"{field}[{i}]", $"\"{addresses[i]}\" is listed twice");
        }
    }

    /// <summary>The address as it can be shown in a message: control characters (a newline) as \uXXXX.</summary>
    private static string Printable(string? s) =>
        string.Concat((s ?? "").Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));
}
