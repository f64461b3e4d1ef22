using System.Net;
using System.Text.Json;
using AgentMeter.Aggregator.Webhooks;

namespace AgentMeter.Aggregator.Tests.Webhooks;

public class TargetGuardTests
{
    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.8.9.10", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("169.254.169.254", "link-local / cloud metadata")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("10.1.2.3", "private")]
    [InlineData("172.20.0.1", "private")]
    [InlineData("192.168.1.10", "private")]
    [InlineData("fd12:3456::1", "private (unique local)")]
    [InlineData("100.64.0.1", "carrier-grade NAT")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("::", "unspecified")]
    public async Task RefusesInternalAddresses(string address, string range)
    {
        Assert.StartsWith(range, TargetGuard.ForbiddenRange(IPAddress.Parse(address)));
        var guard = new TargetGuard(new WebhookOptions());
        var e = await Assert.ThrowsAsync<TargetRefusedException>(() => guard.ResolveAsync(address, CancellationToken.None));
        Assert.Contains("Webhooks__AllowPrivateTargets=true", e.Message);
        // The switch lets them through.
        Assert.NotEmpty(await new TargetGuard(new WebhookOptions { AllowPrivateTargets = true }).ResolveAsync(address, CancellationToken.None));
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2001:4860:4860::8888")]
    public async Task AllowsPublicAddresses(string address)
    {
        Assert.Null(TargetGuard.ForbiddenRange(IPAddress.Parse(address)));
        Assert.Equal([IPAddress.Parse(address)], await new TargetGuard(new WebhookOptions()).ResolveAsync(address, CancellationToken.None));
    }

    [Fact]
    public async Task AHostNameIsJudgedByWhatItResolvesTo()
    {
        var e = await Assert.ThrowsAsync<TargetRefusedException>(() => new TargetGuard(new WebhookOptions()).ResolveAsync("localhost", CancellationToken.None));
        Assert.Contains("host localhost resolves to", e.Message);
    }
}

/// <summary>With private targets not allowed (the default), loopback, private and metadata targets are refused — visibly.</summary>
public class SsrfGuardEndToEndTests
{
    [Fact]
    public async Task ALoopbackReceiverIsNeverContactedAndTheRefusalIsVisible()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(
            $"    - name: local\n      url: {receiver.Url()}\n" +
            $"    - name: by-name\n      url: http://localhost:{receiver.BaseAddress.Port}/hook\n" +
            "    - name: metadata\n      url: http://169.254.169.254/latest/meta-data/\n" +
            "    - name: private\n      url: https://10.0.0.7/hook\n" +
            "    - name: missing\n      urlSecretRef:\n        name: nope\n        key: url\n"));
        kit.Settings["Webhooks:AllowPrivateTargets"] = "false";
        await using var host = await kit.StartAsync();

        using var alerts = JsonDocument.Parse(await host.Client().GetStringAsync("/api/v1/alerts"));
        var hooks = alerts.RootElement.GetProperty("alerts")[0].GetProperty("webhooks").EnumerateArray()
            .ToDictionary(w => w.GetProperty("name").GetString()!, w => (Ready: w.GetProperty("ready").GetBoolean(), Reason: w.GetProperty("reason").GetString()));
        Assert.Equal((false, "TargetRefused"), hooks["local"]);
        Assert.Equal((false, "TargetRefused"), hooks["by-name"]);
        Assert.Equal((false, "TargetRefused"), hooks["metadata"]);
        Assert.Equal((false, "TargetRefused"), hooks["private"]);
        Assert.Equal((false, "SecretNotFound"), hooks["missing"]);

        await kit.FireAsync(host);
        await Task.Delay(500);
        Assert.Empty(receiver.Requests);
        var rows = await kit.OutboxAsync();
        Assert.Equal(5, rows.Count);
        var local = await kit.SettledAsync(5);
        Assert.Equal(4, local.Count(r => r.Status == "dead" && r.LastError!.StartsWith("TargetRefused")));
        Assert.Contains(kit.Logs.Lines, l => l.StartsWith("Warning") && l.Contains("is not ready: TargetRefused"));
        Assert.True(await kit.Logs.WaitForAsync(l => l.StartsWith("Error") && l.Contains("dead-lettered: TargetRefused")), "no error line says the refused notifications were dead-lettered");
    }
}
