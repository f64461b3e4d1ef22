using System.Diagnostics;

namespace AgentMeter.Bench;

/// <summary>
/// CPU time (user + system) of the processes in a run, from /proc, so the report shows where ingest's
/// CPU goes on a machine whose cores are all busy: the throughput alone hides which side is the cost.
/// </summary>
public readonly record struct CpuTime(TimeSpan Postgres, TimeSpan Aggregator, TimeSpan Bench)
{
    // USER_HZ: 100 on every Linux the bench runs on (the kernel ABI fixes it for /proc).
    private const double TicksPerSecond = 100;

    /// <summary>
    /// Now, for the private cluster in <paramref name="pgData"/> (the postmaster, the children it
    /// reaped and the live ones: pooled backends), the aggregator and this process.
    /// </summary>
    public static CpuTime Sample(string? pgData, int aggregatorPid) => new(
        pgData is null ? TimeSpan.Zero : Cluster(pgData),
        Of(aggregatorPid, reaped: false),
        Process.GetCurrentProcess().TotalProcessorTime);

    public static CpuTime operator -(CpuTime a, CpuTime b) => new(a.Postgres - b.Postgres, a.Aggregator - b.Aggregator, a.Bench - b.Bench);

    /// <summary>Microseconds per event of each, as a table cell: PostgreSQL + aggregator + bench client.</summary>
    public string PerEvent(int events) => $"{Micro(Postgres, events)} + {Micro(Aggregator, events)} + {Micro(Bench, events)}";

    private static string Micro(TimeSpan t, int events) => t == TimeSpan.Zero ? "–" : $"{t.TotalMicroseconds / events:N2}";

    private static TimeSpan Cluster(string pgData)
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(pgData, "postmaster.pid")).First());
        var total = Of(postmaster, reaped: true);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || Stat(pid) is not { } stat || stat.Parent != postmaster) continue;
            total += stat.Cpu;
        }
        return total;
    }

    private static TimeSpan Of(int pid, bool reaped) =>
        Stat(pid) is { } s ? s.Cpu + (reaped ? s.ReapedChildren : TimeSpan.Zero) : TimeSpan.Zero;

    private sealed record ProcStat(int Parent, TimeSpan Cpu, TimeSpan ReapedChildren);

    /// <summary>Fields of /proc/PID/stat after the command name (which may hold spaces): ppid, utime, stime, cutime, cstime.</summary>
    private static ProcStat? Stat(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; } // exited meanwhile
        var f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        TimeSpan Ticks(int i) => TimeSpan.FromSeconds(long.Parse(f[i]) / TicksPerSecond);
        return new ProcStat(int.Parse(f[1]), Ticks(11) + Ticks(12), Ticks(13) + Ticks(14));
    }
}
