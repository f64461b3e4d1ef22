using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace AgentMeter.Bench;

/// <summary>
/// bench/curl/run.sh against the aggregator this bench started: curl processes posting bodies of
/// an independent generator, beside the script's own psql \copy baseline of the same rows.
/// </summary>
public static partial class CurlBench
{
    /// <summary>The script's best-of-runs figures: events/s through curl and rows/s of psql \copy.</summary>
    public static async Task<(double Curl, double PsqlCopy)> RunAsync(
        string root, string connectionString, string url, int events, int clients, string format, int daysBack, int runs)
    {
        var psi = new ProcessStartInfo(Path.Combine(root, "bench/curl/run.sh"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        var pg = new NpgsqlConnectionStringBuilder(connectionString);
        // The password through the environment, not the command line (which any local user can read).
        if (!string.IsNullOrEmpty(pg.Password)) psi.Environment["PGPASSWORD"] = pg.Password;
        var uri = $"postgresql://{Uri.EscapeDataString(pg.Username ?? "")}@{pg.Host}:{pg.Port}/{Uri.EscapeDataString(pg.Database ?? "")}";
        foreach (var a in (string[])["--pg", uri, "--url", url, "--events", $"{events}", "--clients", $"{clients}",
                     "--format", format, "--days-back", $"{daysBack}", "--runs", $"{runs}"])
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start bench/curl/run.sh");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"bench/curl/run.sh exited {process.ExitCode}: {output}{await stderr}");
        var row = Row().Match(output);
        if (!row.Success) throw new InvalidOperationException($"bench/curl/run.sh printed no result row: {output}");
        return (double.Parse(row.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(row.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^\| curl, [^|]+\| (\d+) \| (\d+) \|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
