using AgentMeter.Aggregator.Email;
using AgentMeter.Aggregator.Webhooks;
using MimeKit;

namespace AgentMeter.Aggregator.Tests.Email;

/// <summary>Values from events and resources cannot add headers or markup to a mail.</summary>
public class EmailContentTests
{
    [Fact]
    public void ValuesFromEventsAreEscapedInTheHtmlAndCannotEndAHeader()
    {
        var n = new AlertNotification
        {
            EventType = AlertNotification.Firing, Namespace = "team-a", Alert = "calls", Group = "<script>alert(1)</script>\r\nBcc: evil@example.com",
            GroupBy = "agent", Metric = "callCount", Threshold = "3", Window = "1h", Severity = "critical", Value = "5",
            FiredAt = DateTimeOffset.UnixEpoch, EvaluatedAt = DateTimeOffset.UnixEpoch,
        };
        var content = EmailContent.ForAlert(n);
        var message = content.ToMessage(MailboxAddress.Parse("alerts@example.com"), [MailboxAddress.Parse("oncall@example.com")], [],
            "k@example.com", n.EventType, new Uri("https://dash.example.com/?a=1&b=<2>"), DateTimeOffset.UnixEpoch);
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        stream.Position = 0;
        var parsed = MimeMessage.Load(stream);

        Assert.Empty(parsed.Bcc);
        Assert.Null(parsed.Headers[HeaderId.Bcc]);
        Assert.Equal(["oncall@example.com"], parsed.To.Mailboxes.Select(a => a.Address));
        Assert.Contains("<script>alert(1)</script>  Bcc: evil@example.com", parsed.Subject);
        Assert.DoesNotContain("<script>", parsed.HtmlBody);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", parsed.HtmlBody);
        Assert.Contains("href=\"https://dash.example.com/?a=1&amp;b=%3C2%3E\"", parsed.HtmlBody);
        Assert.Contains("agent = <script>alert(1)</script>  Bcc: evil@example.com\n", parsed.TextBody!.ReplaceLineEndings("\n"));
    }
}
