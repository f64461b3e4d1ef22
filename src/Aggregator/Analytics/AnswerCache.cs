using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// Answers of the aggregated-data endpoints (usage, costs, heatmap) by request, valid while the
/// aggregated data is unchanged: those tables change only when a day is aggregated (a row in
/// aggregated_days), late events are appended to a day (its last_corrected_at), a job rewrites them (a row in job_runs, e.g. retention's monthly rollup,
/// and its finish) or the live rollup rewrites a day not aggregated yet (live_days), so one cheap version read decides whether a stored answer is still exact. A
/// dashboard polling the same view is then served without re-reading the rollups (nor
/// re-serialising the answer).
/// <c>Cache-Control: no-cache</c> forces a fresh computation.
/// </summary>
public sealed class AnswerCache(NpgsqlDataSource db, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
{
    private const int MaxEntries = 512;
    private readonly ConcurrentDictionary<string, (string Version, byte[] Json)> _answers = new();

    public async Task<IResult> GetOrComputeAsync(string endpoint, AnalyticsRequest request, bool fresh,
        Func<AnalyticsRequest, CancellationToken, Task<object>> compute, CancellationToken ct)
    {
        var key = $"{endpoint}|{request.From:yyyy-MM-dd}|{request.To:yyyy-MM-dd}|{request.Tenant}|{request.GroupBy.Name}|{request.Limit}";
        var version = await VersionAsync(ct);
        if (!fresh && _answers.TryGetValue(key, out var hit) && hit.Version == version)
            return Results.Bytes(hit.Json, "application/json");
        var answer = await compute(request, ct);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(answer, answer.GetType(), json.Value.SerializerOptions);
        // Bounded: past the limit start over rather than track recency; a miss only costs a query.
        if (_answers.Count >= MaxEntries) _answers.Clear();
        _answers[key] = (version, bytes);
        return Results.Bytes(bytes, "application/json");
    }

    private async Task<string> VersionAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT concat((SELECT count(*) FROM aggregated_days), '/', (SELECT max(aggregated_at) FROM aggregated_days), '/',
                          (SELECT max(last_corrected_at) FROM aggregated_days), '/',
                          (SELECT max(id) FROM job_runs), '/', (SELECT max(finished_at) FROM job_runs), '/',
                          (SELECT count(*) FROM live_days), '/', (SELECT max(refreshed_at) FROM live_days))
            """);
        return (string)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
