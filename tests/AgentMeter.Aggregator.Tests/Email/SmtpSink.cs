using System.Diagnostics;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Testing;
using MimeKit;

namespace AgentMeter.Aggregator.Tests.Email;

/// <summary>
/// A real SMTP server on a loopback port (tests/smtp/smtp_sink.py on aiosmtpd) that stores every accepted message;
/// it can refuse the first attempts with a 4xx, every attempt with a 5xx, or require AUTH.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    public sealed record Mail(MimeMessage Message, IReadOnlyList<string> EnvelopeRecipients);

    private readonly Process _process;
    private readonly TempFolder _folder;
    public int Port { get; }

    private SmtpSink(Process process, TempFolder folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    public static async Task<SmtpSink> StartAsync(int failFirst = 0, bool reject = false, (string User, string Password)? auth = null)
    {
        var folder = new TempFolder();
        // Debian's interpreter, where python3-aiosmtpd is installed (a python3 earlier on PATH may lack it).
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(RepoPaths.Root, "tests", "smtp", "smtp_sink.py"), "--dir", folder.Path, "--fail-first", $"{failFirst}" })
            start.ArgumentList.Add(arg);
        if (reject) start.ArgumentList.Add("--reject");
        if (auth is { } a)
            foreach (var arg in new[] { "--user", a.User, "--password", a.Password }) start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null || !line.StartsWith("PORT "))
            throw new InvalidOperationException($"smtp_sink.py did not start: {line} {await process.StandardError.ReadToEndAsync(timeout.Token)}");
        return new SmtpSink(process, folder, int.Parse(line[5..]));
    }

    /// <summary>DATA commands received, accepted or not.</summary>
    public int Attempts => File.Exists(Path.Combine(_folder.Path, "attempts")) ? int.Parse(File.ReadAllText(Path.Combine(_folder.Path, "attempts"))) : 0;

    public IReadOnlyList<Mail> Mails =>
        Enumerable.Range(1, int.MaxValue).TakeWhile(n => File.Exists(Eml(n)))
            .Select(n => new Mail(MimeMessage.Load(Eml(n)), File.ReadAllLines(Path.Combine(_folder.Path, $"{n}.rcpt"))))
            .ToList();

    /// <summary>Polls until <paramref name="count"/> messages are stored (or fails after 30 s).</summary>
    public async Task<IReadOnlyList<Mail>> WaitForAsync(int count)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(Eml(count)))
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"{count} mail(s) expected, {Mails.Count} arrived after {Attempts} attempt(s)");
            await Task.Delay(50);
        }
        return Mails;
    }

    private string Eml(int n) => Path.Combine(_folder.Path, $"{n}.eml");

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { await _process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        _process.Dispose();
        _folder.Dispose();
    }
}
