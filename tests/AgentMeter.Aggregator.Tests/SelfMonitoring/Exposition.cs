using System.Globalization;
using Prometheus;

namespace AgentMeter.Aggregator.Tests.SelfMonitoring;

/// <summary>Reads one sample out of the Prometheus text format.</summary>
public static class Exposition
{
    /// <summary>The value of the sample written exactly as <paramref name="series"/> (name and labels), or null when absent.</summary>
    public static double? Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line[(series.Length + 1)..].Split(' ')[0], CultureInfo.InvariantCulture);
        return null;
    }

    public static async Task<double?> ValueAsync(CollectorRegistry registry, string series)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Value(System.Text.Encoding.UTF8.GetString(stream.ToArray()), series);
    }
}
