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

/// <summary>
/// Ranges not refused before (NAT64, 6to4, IPv4-compatible, site-local, benchmarking, IETF protocol
/// assignments, Teredo), the IPv4 address such an address embeds, and Webhooks__AllowedTargets.
/// </summary>
public class TargetRangeTests
{
    [Theory]
    [InlineData("64:ff9b::808:808", "NAT64 64:ff9b::/96")]
    [InlineData("64:ff9b::a9fe:a9fe", "NAT64 64:ff9b::/96 embedding 169.254.169.254: link-local / cloud metadata 169.254.0.0/16")]
    [InlineData("64:ff9b:1:808:8:800::", "local-use NAT64 64:ff9b:1::/48")]
    [InlineData("64:ff9b:1:a00:0:100::", "local-use NAT64 64:ff9b:1::/48 embedding 10.0.0.1: private 10.0.0.0/8")]
    [InlineData("2002:808:808::1", "6to4 2002::/16")]
    [InlineData("2002:7f00:1::1", "6to4 2002::/16 embedding 127.0.0.1: loopback 127.0.0.0/8")]
    [InlineData("::808:808", "IPv4-compatible ::/96")]
    [InlineData("::a00:1", "IPv4-compatible ::/96 embedding 10.0.0.1: private 10.0.0.0/8")]
    [InlineData("::ffff:10.0.0.1", "private 10.0.0.0/8")]
    [InlineData("::ffff:169.254.169.254", "link-local / cloud metadata 169.254.0.0/16")]
    [InlineData("fec0::1", "site-local fec0::/10")]
    [InlineData("198.18.0.1", "benchmarking 198.18.0.0/15")]
    [InlineData("198.19.255.254", "benchmarking 198.18.0.0/15")]
    [InlineData("192.0.0.170", "IETF protocol assignments 192.0.0.0/24")]
    [InlineData("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo 2001::/32 embedding 10.0.0.1: private 10.0.0.0/8")]
    public async Task RefusesTranslationTunnelAndSpecialPurposeRanges(string address, string reason)
    {
        Assert.Equal(reason, TargetGuard.ForbiddenRange(IPAddress.Parse(address)));
        var e = await Assert.ThrowsAsync<TargetRefusedException>(() => new TargetGuard(new WebhookOptions()).ResolveAsync(address, CancellationToken.None));
        Assert.Contains($"({reason})", e.Message);
        // Through a proxy the literal is judged alike.
        var proxied = Assert.Throws<TargetRefusedException>(() =>
            new TargetGuard(new WebhookOptions { Proxy = new Uri("http://proxy.example:3128") }).CheckForProxy(address));
        Assert.Contains(reason, proxied.Message);
    }

    [Theory]
    [InlineData("198.20.0.1")]
    [InlineData("192.0.1.1")]
    [InlineData("2003::1")]
    [InlineData("64:ff9c::1")]
    public void NeighboursOfTheRangesArePublic(string address) => Assert.Null(TargetGuard.ForbiddenRange(IPAddress.Parse(address)));

    private static TargetGuard Guard(params string[] allowed) => new(new WebhookOptions { AllowedTargets = [.. allowed] });

    [Fact]
    public void ARangeEntryOpensEveryAddressInIt()
    {
        var guard = Guard("10.20.0.0/16", "127.0.0.1");
        guard.Verify("hooks.example", [IPAddress.Parse("10.20.3.4")]);
        guard.Verify("127.0.0.1", [IPAddress.Parse("127.0.0.1")]);
        var e = Assert.Throws<TargetRefusedException>(() => guard.Verify("hooks.example", [IPAddress.Parse("10.20.3.4"), IPAddress.Parse("10.21.0.1")]));
        Assert.Contains("resolves to 10.21.0.1 (private 10.0.0.0/8)", e.Message);
        Assert.Contains("Webhooks__AllowedTargets", e.Message);
    }

    [Fact]
    public void AHostEntryOpensPrivateRangesButNeverLoopbackOrMetadata()
    {
        var guard = Guard("hooks.corp.example", "*.svc.corp.example");
        guard.Verify("hooks.corp.example", [IPAddress.Parse("10.0.3.7"), IPAddress.Parse("fd00::7")]);
        guard.Verify("alerts.svc.corp.example", [IPAddress.Parse("100.64.1.1")]);
        Assert.Throws<TargetRefusedException>(() => guard.Verify("other.corp.example", [IPAddress.Parse("10.0.3.7")]));
        Assert.Contains("link-local / cloud metadata", Assert.Throws<TargetRefusedException>(() =>
            guard.Verify("hooks.corp.example", [IPAddress.Parse("169.254.169.254")])).Message);
        Assert.Contains("loopback", Assert.Throws<TargetRefusedException>(() =>
            guard.Verify("hooks.corp.example", [IPAddress.Parse("127.0.0.1")])).Message);
    }

    [Fact]
    public void AllowingNat64StillJudgesTheEmbeddedAddress()
    {
        // An IPv6-only cluster reaching the internet through DNS64/NAT64 lists the prefix.
        var guard = Guard("64:ff9b::/96");
        guard.Verify("hooks.example", [IPAddress.Parse("64:ff9b::808:808")]);
        Assert.Contains("embedding 10.0.0.1: private 10.0.0.0/8", Assert.Throws<TargetRefusedException>(() =>
            guard.Verify("hooks.example", [IPAddress.Parse("64:ff9b::a00:1")])).Message);
    }

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("http://hooks.example")]
    [InlineData("*.")]
    public void AnEntryThatIsNeitherRangeNorNameStopsTheStart(string entry)
    {
        var e = Assert.Throws<InvalidOperationException>(() => new WebhookOptions { AllowedTargets = [entry] }.Validate());
        Assert.Contains($"Webhooks__AllowedTargets entry \"{entry}\"", e.Message);
    }

    [Theory]
    [InlineData("localhost", "a loopback name")]
    [InlineData("api.localhost", "a loopback name")]
    [InlineData("metadata", "a single-label name")]
    [InlineData("metadata.google.internal", "an internal name (*.internal)")]
    [InlineData("kubernetes.default.svc", "an internal name (*.svc)")]
    [InlineData("db.prod.svc.cluster.local", "an internal name (*.local)")]
    public void ThroughAProxyInternalNamesAreRefusedUnlessListed(string host, string why)
    {
        var guard = new TargetGuard(new WebhookOptions { Proxy = new Uri("http://proxy.example:3128") });
        Assert.Contains($"is {why}", Assert.Throws<TargetRefusedException>(() => guard.CheckForProxy(host)).Message);
        guard.CheckForProxy("hooks.slack.com");
        new TargetGuard(new WebhookOptions { Proxy = new Uri("http://proxy.example:3128"), AllowedTargets = [host] }).CheckForProxy(host);
    }
}

/// <summary>The allow-list and the egress proxy with real receivers, and a real proxy, on loopback.</summary>
public class AllowListAndProxyEndToEndTests
{
    [Fact]
    public async Task AnAllowedRangeLetsALoopbackReceiverThroughAndNothingElse()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(
            $"    - name: allowed\n      url: {receiver.Url("/allowed")}\n" +
            $"    - name: not-listed\n      url: http://127.0.0.2:{receiver.BaseAddress.Port}/not-listed\n"));
        kit.Settings["Webhooks:AllowPrivateTargets"] = "false";
        kit.Settings["Webhooks:AllowedTargets:0"] = "127.0.0.1/32";
        await using var host = await kit.StartAsync();

        await kit.FireAsync(host);
        var settled = await kit.SettledAsync(2);
        Assert.Equal(["/allowed"], receiver.Requests.Select(r => r.Path));
        Assert.Contains(settled, r => r.Status == "dead" && r.LastError!.StartsWith("TargetRefused") && r.LastError.Contains("127.0.0.2 (loopback 127.0.0.0/8)"));
    }

    [Fact]
    public async Task ThroughTheProxyTheAggregatorResolvesNothingAndRefusesInternalHostsBeforeAsking()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var proxy = new LoopbackProxy();
        // Names only the proxy can resolve.
        proxy.Hosts["receiver.test"] = receiver.BaseAddress.Port;
        proxy.Hosts["secure.test"] = receiver.BaseAddress.Port;
        await using var kit = await WebhookHostKit.CreateAsync(WebhookHostKit.Alert(
            "    - name: named\n      url: http://receiver.test/named\n" +
            $"    - name: listed-literal\n      url: {receiver.Url("/literal")}\n" +
            "    - name: tls\n      url: https://secure.test/tls\n" +
            "    - name: metadata\n      url: http://169.254.169.254/latest/meta-data/\n" +
            $"    - name: loopback-name\n      url: http://localhost:{receiver.BaseAddress.Port}/x\n" +
            "    - name: cloud-internal\n      url: http://metadata.google.internal/computeMetadata/v1/\n"));
        kit.Settings["Webhooks:AllowPrivateTargets"] = "false";
        kit.Settings["Webhooks:Proxy"] = proxy.Address.ToString();
        kit.Settings["Webhooks:AllowedTargets:0"] = "127.0.0.1/32";
        kit.Settings["Webhooks:MaxAttempts"] = "2";
        await using var host = await kit.StartAsync();

        using (var alerts = System.Text.Json.JsonDocument.Parse(await host.Client().GetStringAsync("/api/v1/alerts")))
        {
            var hooks = alerts.RootElement.GetProperty("alerts")[0].GetProperty("webhooks").EnumerateArray()
                .ToDictionary(w => w.GetProperty("name").GetString()!, w => w.GetProperty("reason").GetString());
            Assert.Equal(("Ready", "Ready", "Ready"), (hooks["named"], hooks["listed-literal"], hooks["tls"]));
            Assert.Equal(("TargetRefused", "TargetRefused", "TargetRefused"), (hooks["metadata"], hooks["loopback-name"], hooks["cloud-internal"]));
        }

        await kit.FireAsync(host);
        await kit.SettledAsync(6);
        Assert.Equal(["/literal", "/named"], receiver.Requests.Select(r => r.Path).Order());
        // Everything went through the proxy (the loopback literal too), the TLS target as a tunnel; the refused hosts never reached it.
        var asked = proxy.RequestLines.ToList();
        Assert.Contains("POST http://receiver.test/named HTTP/1.1", asked);
        Assert.Contains($"POST {receiver.Url("/literal")} HTTP/1.1", asked);
        Assert.Contains("CONNECT secure.test:443 HTTP/1.1", asked);
        Assert.DoesNotContain(asked, l => l.Contains("169.254.169.254") || l.Contains("localhost") || l.Contains("metadata.google.internal"));
        var outbox = await kit.OutboxAsync();
        Assert.Equal(3, outbox.Count(r => r.Status == "dead" && r.LastError!.StartsWith("TargetRefused")));
        Assert.Equal(2, outbox.Count(r => r.Status == "delivered"));
    }
}
