using System.Text.Json;
using AgentMeter.Aggregator.Webhooks;

namespace AgentMeter.Aggregator.Tests.Webhooks;

/// <summary>End to end: alert evaluation → outbox → delivery to real HTTP receivers on loopback.</summary>
public class WebhookDeliveryTests
{
    private static string Hook(string name, string url, string format = "generic", string extra = "") =>
        $"    - name: {name}\n      url: {url}\n      format: {format}\n{extra}";

    [Fact]
    public async Task AReceiverFailingTheFirstAttemptsStillGetsExactlyOneNotificationPerFiring()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = n => Task.FromResult(n <= 2 ? 503 : 200);
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(Hook("oncall", receiver.Url())));
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal(("firing", "delivered", 3), (row.EventType, row.Status, row.Attempts));
        Assert.Equal(3, receiver.Requests.Count);
        Assert.Equal([row.IdempotencyKey], receiver.Requests.Select(r => r.Header("Idempotency-Key")).Distinct());
        Assert.Equal([(false, "tenant-a"), (false, "tenant-a"), (true, "tenant-a")], await kit.AttemptsAsync());

        // Still above the threshold: no second notification.
        await kit.FireAsync(host);
        await Task.Delay(300);
        Assert.Single(await kit.OutboxAsync());
        Assert.Equal(3, receiver.Requests.Count);

        var metrics = await host.Client().GetStringAsync("/metrics");
        Assert.Contains("registry_webhook_deliveries_total{status=\"failure\",event_type=\"firing\"} 2", metrics);
        Assert.Contains("registry_webhook_deliveries_total{status=\"success\",event_type=\"firing\"} 1", metrics);

        // The generic body carries the facts and the same key.
        using var body = JsonDocument.Parse(receiver.Requests.Last().Body);
        Assert.Equal("firing", body.RootElement.GetProperty("eventType").GetString());
        Assert.Equal(row.IdempotencyKey, body.RootElement.GetProperty("idempotencyKey").GetString());
        Assert.Equal("calls", body.RootElement.GetProperty("alert").GetProperty("name").GetString());
        Assert.Equal("5", body.RootElement.GetProperty("value").GetString());
    }

    [Fact]
    public async Task AfterMaxAttemptsTheNotificationIsDeadLettered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => Task.FromResult(500);
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(Hook("oncall", receiver.Url())));
        kit.Settings["Webhooks:MaxAttempts"] = "3";
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal(("dead", 3, "HTTP 500"), (row.Status, row.Attempts, row.LastError));
        Assert.Equal(3, receiver.Requests.Count);
        Assert.True(await kit.Logs.WaitForAsync(l => l.StartsWith("Error") && l.Contains("dead-lettered")), "no error line says the notification was dead-lettered");
    }

    [Fact]
    public async Task StoppingTheAggregatorMidDeliveryLosesNothing()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var hang = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.Respond = n => n == 1 ? hang.Task : Task.FromResult(200);
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(Hook("oncall", receiver.Url())));
        kit.Settings["Webhooks:AttemptTimeout"] = "00:01:00";

        var first = await kit.StartAsync();
        await kit.FireAsync(first);
        await receiver.WaitForAsync(1);
        await first.DisposeAsync(); // stops while the receiver hangs
        hang.SetResult(200);         // too late: that connection is gone
        Assert.Equal("pending", Assert.Single(await kit.OutboxAsync()).Status);

        await using var second = await kit.StartAsync();
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal("delivered", row.Status);
        await receiver.WaitForAsync(2);
        Assert.Equal([row.IdempotencyKey], receiver.Requests.Select(r => r.Header("Idempotency-Key")).Distinct());
        // The new process knows the alert is firing: no second firing.
        await kit.FireAsync(second);
        Assert.Single(await kit.OutboxAsync());
    }

    [Fact]
    public async Task TheBackoffSurvivesARestart()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var arrivals = new System.Collections.Concurrent.ConcurrentQueue<DateTimeOffset>();
        receiver.Respond = n =>
        {
            arrivals.Enqueue(DateTimeOffset.UtcNow);
            return Task.FromResult(n == 1 ? 503 : 200);
        };
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(Hook("oncall", receiver.Url())));
        kit.Settings["Webhooks:BaseDelay"] = "00:00:03";
        kit.Settings["Webhooks:MaxDelay"] = "00:00:03";

        var first = await kit.StartAsync();
        await kit.FireAsync(first);
        await receiver.WaitForAsync(1);
        // While the attempt runs, the row is leased (due 5 s attempt timeout + 5 s later); then the retry time,
        // at most MaxDelay = 3 s after the attempt, replaces the lease.
        DateTimeOffset due;
        var until = DateTime.UtcNow.AddSeconds(10);
        while ((due = await kit.NextAttemptAsync()) > arrivals.First().AddSeconds(8) && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.True(due > arrivals.First() && due <= arrivals.First().AddSeconds(8), $"the retry time was not persisted: {due:O}");
        await first.DisposeAsync(); // during the backoff wait

        await using var second = await kit.StartAsync();
        var row = Assert.Single(await kit.SettledAsync());
        Assert.True(row.Status == "delivered", $"{row}");
        Assert.Equal(2, arrivals.Count);
        // The new process waited for the persisted time instead of retrying at once (1 ms: the database keeps microseconds).
        Assert.True(arrivals.Last() >= due.AddMilliseconds(-1), $"retried at {arrivals.Last():O}, due {due:O}");
    }

    [Fact]
    public async Task FinishedNotificationsArePurgedAfterTheRetentionAndAttemptsStay()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(Hook("oncall", receiver.Url())));
        await using (var host = await kit.StartAsync())
        {
            await kit.FireAsync(host);
            Assert.Equal("delivered", Assert.Single(await kit.SettledAsync()).Status);
        }
        await using (var conn = await kit.Db.DataSource.OpenConnectionAsync())
            await Dapper.SqlMapper.ExecuteAsync(conn, "UPDATE webhook_outbox SET finished_at = finished_at - interval '31 days'");
        await using (await kit.StartAsync())
        {
            var until = DateTime.UtcNow.AddSeconds(10);
            while ((await kit.OutboxAsync()).Count > 0 && DateTime.UtcNow < until) await Task.Delay(50);
        }
        Assert.Empty(await kit.OutboxAsync());
        Assert.Single(await kit.AttemptsAsync());
    }

    [Fact]
    public async Task TheSignatureVerifiesWithTheSigningSecret()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(Hook("signed", receiver.Url(), extra:
            "      signingSecretRef:\n        name: hooks\n        key: signing\n")));
        kit.Secret("team-a", "hooks", "signing", "s3cr3t-signing-key\n");
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        await kit.SettledAsync();
        var r = Assert.Single(receiver.Requests);
        var ts = r.Header(WebhookSignature.TimestampHeader)!;
        var signature = r.Header(WebhookSignature.SignatureHeader)!;
        Assert.StartsWith("sha256=", signature);
        Assert.True(WebhookSignature.Verify("s3cr3t-signing-key", ts, r.Body, signature));
        Assert.False(WebhookSignature.Verify("another-key", ts, r.Body, signature));
        Assert.False(WebhookSignature.Verify("s3cr3t-signing-key", ts, r.Body.Replace("calls", "calla"), signature));
        Assert.InRange(long.Parse(ts), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task SlackAndPagerDutyGetTheirShapesAndAResolveFollowsWhenTheAlertIsOkAgain()
    {
        await using var slack = await WebhookReceiver.StartAsync();
        await using var pagerduty = await WebhookReceiver.StartAsync();
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(
            Hook("chat", slack.Url("/services/T0/B0/x"), "slack") +
            Hook("pager", pagerduty.Url("/v2/enqueue"), "pagerduty", "      routingKeySecretRef:\n        name: pd\n        key: routing-key\n"),
            extra: "  groupBy: agent\n"));
        kit.Secret("team-a", "pd", "routing-key", "R0UTINGKEY0123456789");
        // The receiver stands in for PagerDuty: its host must be allowed to get a routing key.
        kit.Settings["Webhooks:PagerDutyHosts:0"] = "127.0.0.1";
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        await kit.SettledAsync(2);
        await kit.ResolveAsync(host);
        var rows = await kit.SettledAsync(4);
        Assert.All(rows, r => Assert.Equal("delivered", r.Status));

        var slackMessages = slack.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        Assert.Equal(2, slackMessages.Count);
        foreach (var m in slackMessages)
        {
            Assert.False(string.IsNullOrEmpty(m.GetProperty("text").GetString()));
            var blocks = m.GetProperty("blocks").EnumerateArray().ToList();
            Assert.Equal(["header", "section", "section", "context"], blocks.Select(b => b.GetProperty("type").GetString()));
            Assert.Equal("plain_text", blocks[0].GetProperty("text").GetProperty("type").GetString());
            Assert.All(blocks[2].GetProperty("fields").EnumerateArray(), f => Assert.Equal("mrkdwn", f.GetProperty("type").GetString()));
        }
        Assert.Contains("Firing", slackMessages[0].GetProperty("text").GetString());
        Assert.Contains("Resolved", slackMessages[1].GetProperty("text").GetString());

        var events = pagerduty.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        Assert.Equal(["trigger", "resolve"], events.Select(e => e.GetProperty("event_action").GetString()));
        Assert.All(events, e => Assert.Equal("R0UTINGKEY0123456789", e.GetProperty("routing_key").GetString()));
        Assert.All(events, e => Assert.Equal("agentmeter/team-a/calls/agent-a", e.GetProperty("dedup_key").GetString()));
        var payload = events[0].GetProperty("payload");
        Assert.Equal("critical", payload.GetProperty("severity").GetString());
        Assert.Equal("agentmeter", payload.GetProperty("source").GetString());
        Assert.Contains("callCount is 5", payload.GetProperty("summary").GetString());
        Assert.True(DateTimeOffset.TryParse(payload.GetProperty("timestamp").GetString(), out _));
        Assert.False(events[1].TryGetProperty("payload", out _));
    }

    [Fact]
    public async Task SecretsNeverReachTheLogs()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = n => Task.FromResult(n <= 2 ? 500 : 200); // failures log warnings too
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(
            "    - name: hidden\n      urlSecretRef:\n        name: hooks\n        key: url\n      signingSecretRef:\n        name: hooks\n        key: signing\n" +
            Hook("pager", receiver.Url("/pd"), "pagerduty", "      routingKeySecretRef:\n        name: pd\n        key: key\n")));
        kit.Secret("team-a", "hooks", "url", receiver.Url("/hook/URLPATHTOKEN42"));
        kit.Secret("team-a", "hooks", "signing", "SIGNINGSECRET42");
        kit.Secret("team-a", "pd", "key", "ROUTINGKEY42");
        kit.Settings["Webhooks:PagerDutyHosts:0"] = "127.0.0.1";
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        await kit.SettledAsync(2);
        await host.Client().GetStringAsync("/api/v1/alerts");
        Assert.Contains(receiver.Requests, r => r.Path == "/hook/URLPATHTOKEN42");
        Assert.True(await kit.Logs.WaitForAsync(l => l.Contains("attempt failed")), "no line about the failed attempts");
        Assert.True(await kit.Logs.WaitForAsync(l => l.Contains("delivered")), "no line about the deliveries");
        foreach (var secret in new[] { "URLPATHTOKEN42", "SIGNINGSECRET42", "ROUTINGKEY42" })
            Assert.DoesNotContain(kit.Logs.Lines, l => l.Contains(secret));
    }

    [Fact]
    public async Task ARoutingKeyIsNeverSentToAHostThatIsNotPagerDuty()
    {
        // The URL comes from a Secret, so validation cannot see it: the sender refuses it, and nothing reaches the host.
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(
            "    - name: pager\n      format: pagerduty\n      urlSecretRef:\n        name: pd\n        key: url\n" +
            "      routingKeySecretRef:\n        name: pd\n        key: routing-key\n"));
        kit.Secret("team-a", "pd", "url", receiver.Url("/v2/enqueue"));
        kit.Secret("team-a", "pd", "routing-key", "DATABASEPASSWORD42");
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal("dead", row.Status);
        Assert.StartsWith("TargetRefused: a pagerduty webhook sends its routing key", row.LastError);
        Assert.Contains("host 127.0.0.1 is not", row.LastError);
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public async Task RedirectsAreNotFollowed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => Task.FromResult(307);
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(Hook("oncall", receiver.Url())));
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var row = Assert.Single(await kit.SettledAsync());
        Assert.Equal("dead", row.Status);
        Assert.Contains("redirects are not followed", row.LastError);
        Assert.Single(receiver.Requests);
    }
}
