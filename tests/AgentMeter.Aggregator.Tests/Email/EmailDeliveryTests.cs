using AgentMeter.Aggregator.Budgets;
using AgentMeter.Aggregator.Tests.Budgets;
using AgentMeter.Aggregator.Tests.Webhooks;
using MimeKit;

namespace AgentMeter.Aggregator.Tests.Email;

/// <summary>End to end: alert and budget evaluation → outbox → a real SMTP server on loopback (aiosmtpd).</summary>
public class EmailDeliveryTests
{
    private const string Dashboard = "https://agentmeter.example.com/";

    private static string Alert(string extra = "") => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: calls
          namespace: team-a
        spec:
          metric: callCount
          threshold: "3"
          window: 1h
          severity: critical
          filter:
            tenantId: tenant-a
        {extra}  email:
            to: [oncall@example.com, ops@example.org]
            cc: [lead@example.com]
        ---

        """;

    private static async Task<WebhookHostKit> KitAsync(SmtpSink sink, string resources)
    {
        var kit = await WebhookHostKit.CreateAsync(resources);
        kit.Settings["Email:Host"] = "127.0.0.1";
        kit.Settings["Email:Port"] = $"{sink.Port}";
        kit.Settings["Email:Security"] = "None";
        kit.Settings["Email:From"] = "AgentMeter <alerts@agentmeter.example.com>";
        kit.Settings["Email:DashboardUrl"] = Dashboard;
        return kit;
    }

    private static string Text(MimeMessage m) => m.TextBody!.ReplaceLineEndings("\n");

    [Fact]
    public async Task AFiringSendsExactlyOneMailAndTheResolveOneMore()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var kit = await KitAsync(sink, Alert());
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal(("firing", "delivered", 1), (row.EventType, row.Status, row.Attempts));
        var mail = Assert.Single(await sink.WaitForAsync(1));
        var m = mail.Message;
        Assert.Equal("[AgentMeter] FIRING (critical) team-a/calls: callCount 5 above 3", m.Subject);
        Assert.Equal($"{row.IdempotencyKey}@agentmeter.example.com", m.MessageId);
        Assert.Equal("alerts@agentmeter.example.com", m.From.Mailboxes.Single().Address);
        Assert.Equal(["oncall@example.com", "ops@example.org"], m.To.Mailboxes.Select(a => a.Address));
        Assert.Equal(["lead@example.com"], m.Cc.Mailboxes.Select(a => a.Address));
        Assert.Equal(["oncall@example.com", "ops@example.org", "lead@example.com"], mail.EnvelopeRecipients);
        Assert.Equal("auto-generated", m.Headers["Auto-Submitted"]);
        Assert.Contains("UsageAlert team-a/calls is firing: callCount is 5 over 1h, above the threshold 3.", Text(m));
        Assert.Contains("Value:", Text(m));
        Assert.Contains($"Dashboard: {Dashboard}", Text(m));
        Assert.Contains("<th align=\"left\">Threshold</th><td>3</td>", m.HtmlBody);
        Assert.Contains($"<a href=\"{Dashboard}\">", m.HtmlBody);

        // Still above the threshold: no second mail is even queued.
        await kit.FireAsync(host);
        Assert.Single(await kit.OutboxAsync());

        await kit.ResolveAsync(host);
        var rows = await kit.SettledAsync(2);
        Assert.Equal(["firing", "resolved"], rows.Select(r => r.EventType));
        var resolve = (await sink.WaitForAsync(2))[1].Message;
        Assert.Equal("[AgentMeter] RESOLVED team-a/calls: callCount 0", resolve.Subject);
        Assert.Equal($"{rows[1].IdempotencyKey}@agentmeter.example.com", resolve.MessageId);
        Assert.Contains("back under the threshold 3", Text(resolve));
        Assert.Equal(2, sink.Attempts);
    }

    [Fact]
    public async Task AServerAnswering4xxToTheFirstAttemptsStillGetsExactlyOneMail()
    {
        await using var sink = await SmtpSink.StartAsync(failFirst: 2);
        await using var kit = await KitAsync(sink, Alert());
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal(("delivered", 3), (row.Status, row.Attempts));
        Assert.Single(await sink.WaitForAsync(1));
        Assert.Equal(3, sink.Attempts);
        Assert.True(await kit.Logs.WaitForAsync(l => l.StartsWith("Warning") && l.Contains("email email of UsageAlert team-a/calls: firing attempt failed: SMTP 451")),
            "no warning names the refused attempt");
        // Mail attempts are not webhook attempts: webhookFailureRate does not count them.
        Assert.Empty(await kit.AttemptsAsync());
    }

    [Fact]
    public async Task APermanent5xxDeadLettersAtOnceWithTheReason()
    {
        await using var sink = await SmtpSink.StartAsync(reject: true);
        await using var kit = await KitAsync(sink, Alert());
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal(("dead", 1), (row.Status, row.Attempts));
        Assert.StartsWith("SMTP 550", row.LastError);
        Assert.Equal(1, sink.Attempts);
        Assert.Empty(sink.Mails);
        Assert.True(await kit.Logs.WaitForAsync(l => l.StartsWith("Error") && l.Contains("dead-lettered: SMTP 550")), "no error line names the dead letter");
    }

    [Fact]
    public async Task WithoutEmailSettingsTheMailIsDeadLetteredSayingWhatToSet()
    {
        await using var kit = await WebhookHostKit.CreateAsync(Alert());
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal("dead", row.Status);
        Assert.Contains("set Email__Host and Email__From", row.LastError);
    }

    [Fact]
    public async Task CredentialsComeFromFilesAndNeverReachTheLogs()
    {
        await using var sink = await SmtpSink.StartAsync(failFirst: 1, auth: ("SMTPUSER42", "SMTPPASSWORD42"));
        await using var kit = await KitAsync(sink, Alert());
        kit.Secret("smtp", "credentials", "username", "SMTPUSER42\n");
        kit.Secret("smtp", "credentials", "password", "SMTPPASSWORD42\n");
        kit.Settings["Email:UserNameFile"] = Path.Combine(kit.SecretsPath, "smtp", "credentials.username");
        kit.Settings["Email:PasswordFile"] = Path.Combine(kit.SecretsPath, "smtp", "credentials.password");
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        Assert.Equal("delivered", Assert.Single(await kit.SettledAsync()).Status);
        Assert.Single(await sink.WaitForAsync(1));
        Assert.True(await kit.Logs.WaitForAsync(l => l.Contains("delivered")), "no line about the delivery");
        Assert.True(await kit.Logs.WaitForAsync(l => l.Contains("attempt failed")), "no line about the refused attempt");
        Assert.DoesNotContain(kit.Logs.Lines, l => l.Contains("SMTPUSER42") || l.Contains("SMTPPASSWORD42"));

        // A wrong password: refused by the server, dead-lettered naming the settings, still not logged.
        kit.Secret("smtp", "credentials", "password", "WRONGPASSWORD42");
        await kit.ResolveAsync(host);
        var rows = await kit.SettledAsync(2);
        Assert.Equal("dead", rows[1].Status);
        Assert.Contains("Email__UserNameFile/Email__PasswordFile", rows[1].LastError);
        Assert.DoesNotContain(kit.Logs.Lines, l => l.Contains("WRONGPASSWORD42") || l.Contains("SMTPPASSWORD42"));
    }

    [Fact]
    public async Task ABudgetThresholdIsMailedOnce()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var kit = await KitAsync(sink, """
            apiVersion: agentmeter.io/v1alpha1
            kind: Budget
            metadata:
              name: monthly
              namespace: team-a
            spec:
              amount: "100"
              forecast: false
              filter: {tenantId: tenant-a}
              email:
                to: [finance@example.com]
            ---

            """);
        kit.Settings["Budgets:EvaluatorEnabled"] = "false";
        await using var host = await kit.StartAsync();

        await BudgetKit.SpendAsync(kit.Db.DataSource, DateOnly.FromDateTime(DateTime.UtcNow), 55);
        var evaluator = host.Services.GetRequiredService<BudgetEvaluator>();
        Assert.True(await evaluator.EvaluateAllAsync(CancellationToken.None));
        Assert.True(await evaluator.EvaluateAllAsync(CancellationToken.None));
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal(("threshold", "delivered"), (row.EventType, row.Status));
        var m = Assert.Single(await sink.WaitForAsync(1)).Message;
        Assert.Equal("[AgentMeter] Budget team-a/monthly: 50 % reached (55 of 100 USD)", m.Subject);
        Assert.Equal(["finance@example.com"], m.To.Mailboxes.Select(a => a.Address));
        Assert.Equal($"{row.IdempotencyKey}@agentmeter.example.com", m.MessageId);
        Assert.Contains("past the 50 % threshold", Text(m));
        Assert.Contains("<th align=\"left\">Threshold</th><td>50 %</td>", m.HtmlBody);
    }
}
