using System.Net;
using System.Text;
using AgentMeter.Aggregator.Budgets;
using AgentMeter.Aggregator.Webhooks;
using MimeKit;

namespace AgentMeter.Aggregator.Email;

/// <summary>
/// What one notification mail says — a subject, a headline, the facts as label/value pairs — and its rendering as
/// plain text and HTML. Values come from resources and events: the HTML escapes all of them, the subject loses any
/// control character (no header can be ended or added from a value).
/// </summary>
public sealed record EmailContent(string Subject, string Headline, IReadOnlyList<(string Label, string Value)> Facts)
{
    public static EmailContent ForAlert(AlertNotification n)
    {
        var firing = n.EventType == AlertNotification.Firing;
        var group = n.Group.Length > 0 ? $" ({n.GroupBy} {n.Group})" : "";
        var value = n.Value ?? "no data";
        var facts = new List<(string, string)>
        {
            ("Alert", $"{n.Namespace}/{n.Alert}"),
            ("State", firing ? "firing" : "resolved"),
            ("Metric", n.Metric),
            ("Value", value),
            ("Threshold", n.Threshold),
            ("Window", n.Window),
            ("Severity", n.Severity),
        };
        if (n.Group.Length > 0) facts.Add(("Firing group", $"{n.GroupBy} = {n.Group}"));
        facts.Add(firing ? ("Fired at", Time(n.FiredAt)) : ("Resolved at", Time(n.ResolvedAt ?? n.EvaluatedAt)));
        if (!firing) facts.Add(("Fired at", Time(n.FiredAt)));
        return new EmailContent(
            firing
                ? $"[AgentMeter] FIRING ({n.Severity}) {n.Namespace}/{n.Alert}{group}: {n.Metric} {value} above {n.Threshold}"
                : $"[AgentMeter] RESOLVED {n.Namespace}/{n.Alert}{group}: {n.Metric} {value}",
            firing
                ? $"UsageAlert {n.Namespace}/{n.Alert}{group} is firing: {n.Metric} is {value} over {n.Window}, above the threshold {n.Threshold}."
                : $"UsageAlert {n.Namespace}/{n.Alert}{group} is resolved: {n.Metric} is {value} over {n.Window}, back under the threshold {n.Threshold}.",
            facts);
    }

    public static EmailContent ForBudget(BudgetNotification n)
    {
        var forecast = n.EventType == BudgetNotification.ForecastEvent;
        var facts = new List<(string, string)>
        {
            ("Budget", $"{n.Namespace}/{n.Budget}"),
            ("State", n.State),
            ("Amount", $"{n.Amount} {n.Currency} per {n.Period}"),
            ("Spent", $"{n.Spent} {n.Currency} ({n.PercentUsed} %)"),
            ("Projected", $"{n.Projected} {n.Currency}"),
        };
        if (n.Threshold is { } t) facts.Add(("Threshold", $"{t} %"));
        if (n.ProjectedExhaustion is { } day) facts.Add(("Runs out on", day));
        facts.Add(("Period", $"{Time(n.PeriodStart)} to {Time(n.PeriodEnd)}"));
        return new EmailContent(
            forecast
                ? $"[AgentMeter] Budget {n.Namespace}/{n.Budget}: projected {n.Projected} of {n.Amount} {n.Currency} this {n.Period}"
                : $"[AgentMeter] Budget {n.Namespace}/{n.Budget}: {n.Threshold} % reached ({n.Spent} of {n.Amount} {n.Currency})",
            $"Budget {n.Namespace}/{n.Budget}: {n.Summary}.",
            facts);
    }

    /// <summary>The mail: From, To, Cc, Subject, a stable Message-ID, and a text and an HTML part saying the same.</summary>
    public MimeMessage ToMessage(MailboxAddress from, IEnumerable<MailboxAddress> to, IEnumerable<MailboxAddress> cc, string messageId,
        string eventType, Uri? dashboard, DateTimeOffset date)
    {
        var message = new MimeMessage { Subject = OneLine(Subject), MessageId = messageId, Date = date };
        message.From.Add(from);
        message.To.AddRange(to);
        message.Cc.AddRange(cc);
        // RFC 3834: no out-of-office answers to a machine.
        message.Headers.Add("Auto-Submitted", "auto-generated");
        message.Headers.Add(WebhookSender.EventHeader, eventType);
        message.Body = new BodyBuilder { TextBody = Text(dashboard), HtmlBody = Html(dashboard) }.ToMessageBody();
        return message;
    }

    public string Text(Uri? dashboard)
    {
        var text = new StringBuilder(Headline).Append("\n\n");
        var width = Facts.Max(f => f.Label.Length) + 1;
        foreach (var (label, value) in Facts) text.Append((label + ":").PadRight(width + 1)).Append(OneLine(value)).Append('\n');
        if (dashboard is not null) text.Append("\nDashboard: ").Append(dashboard.AbsoluteUri).Append('\n');
        return text.Append("\n-- \nAgentMeter\n").ToString();
    }

    public string Html(Uri? dashboard)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var html = new StringBuilder("<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n")
            .Append("<p><strong>").Append(E(Headline)).Append("</strong></p>\n<table cellpadding=\"4\">\n");
        foreach (var (label, value) in Facts)
            html.Append("<tr><th align=\"left\">").Append(E(label)).Append("</th><td>").Append(E(value)).Append("</td></tr>\n");
        html.Append("</table>\n");
        if (dashboard is not null)
            html.Append("<p><a href=\"").Append(E(dashboard.AbsoluteUri)).Append("\">Open the AgentMeter dashboard</a></p>\n");
        return html.Append("</body></html>\n").ToString();
    }

    /// <summary>Control characters (a CR or LF from an event's value) become spaces.</summary>
    private static string OneLine(string s) => string.Concat(s.Select(c => char.IsControl(c) ? ' ' : c));

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
}
