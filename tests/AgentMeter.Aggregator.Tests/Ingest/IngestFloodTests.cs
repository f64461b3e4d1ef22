using System.Net;
using System.Net.Http.Headers;
using System.Text;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Npgsql;
using Xunit.Abstractions;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// Back-pressure, as the kernel sees it: 40 concurrent bodies of 9,000 events (about 12 MB each)
/// against the aggregator process with the memory a 512 MiB pod gives it. Before the body budget and
/// the bounded queue every one was taken in at once and the peak was 1,716 MiB (an OOM kill in a
/// cluster); now its peak stays under the limit, every request gets an answer — 200, or 503 with
/// Retry-After — an answered 503 stored nothing, every 200 stored its batch, and ingest works after.
/// </summary>
public class IngestFloodTests(ITestOutputHelper output)
{
    private const int Requests = 40, EventsPerRequest = 9_000;
    private const long PodLimit = 512L * 1024 * 1024;

    [Fact]
    public async Task AFloodOfLargeBodiesStaysWithinThePodLimitAndEveryRequestIsAnswered()
    {
        var connectionString = await PostgresCluster.CreateDatabaseAsync("flood");
        // In a container .NET sizes its heap limit from the cgroup's: 75 % of it (384 MiB of 512 MiB),
        // which is what GC.GetGCMemoryInfo().TotalAvailableMemoryBytes reports there. The variable sets
        // the same limit without a cgroup.
        await using var aggregator = await AggregatorProcess.StartAsync(connectionString,
            new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = $"0x{PodLimit * 3 / 4:X}" });
        using var http = new HttpClient { BaseAddress = new Uri(aggregator.BaseUrl), Timeout = TimeSpan.FromMinutes(5) };
        var time = DateTimeOffset.UtcNow.AddSeconds(-30);

        var answers = await Task.WhenAll(Enumerable.Range(0, Requests).Select(async r =>
        {
            try
            {
                using var response = await http.PostAsync("/api/v1/events", new FloodBody(r, time));
                return (Request: r, Status: (HttpStatusCode?)response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta,
                    Body: await response.Content.ReadAsStringAsync());
            }
            catch (HttpRequestException e)
            {
                return (Request: r, Status: null, RetryAfter: null, Body: $"no answer: {e.Message} {e.InnerException?.Message}");
            }
        }));

        Assert.False(aggregator.HasExited, $"the aggregator died:\n{aggregator.Log}");
        var peak = aggregator.PeakResidentBytes();
        output.WriteLine($"peak resident memory {peak / 1048576} MiB; answers: " +
                         string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{(int?)g.Key} x{g.Count()}")));
        Assert.All(answers, a => Assert.True(
            a.Status == HttpStatusCode.OK ||
            a.Status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests && a.RetryAfter > TimeSpan.Zero,
            $"request {a.Request}: {(int?)a.Status} Retry-After {a.RetryAfter} {a.Body}"));
        Assert.Contains(answers, a => a.Status == HttpStatusCode.OK);
        Assert.True(peak < PodLimit, $"peak resident memory {peak / 1048576} MiB is over the pod's 512 MiB");

        // Honest answers: a 200's batch is stored whole, a 503's not at all.
        await using var db = NpgsqlDataSource.Create(connectionString);
        await using (var conn = await db.OpenConnectionAsync())
        {
            var stored = (await conn.QueryAsync<(string Request, long Count)>(
                "SELECT split_part(event_id, '-', 2), count(*) FROM usage_events GROUP BY 1")).ToDictionary(r => int.Parse(r.Request), r => r.Count);
            foreach (var a in answers)
                Assert.Equal(a.Status == HttpStatusCode.OK ? EventsPerRequest : 0, stored.GetValueOrDefault(a.Request));
        }

        // And the aggregator still takes a small batch.
        var small = $$"""[{"type":"agent_request","time":"{{time:yyyy-MM-ddTHH:mm:ssZ}}","event_id":"after-flood","agent_id":"a","method":"m"}]""";
        using var after = await http.PostAsync("/api/v1/events", new StringContent(small, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        await using (var conn = await db.OpenConnectionAsync())
            Assert.Equal(1, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events WHERE event_id = 'after-flood'"));
    }

    /// <summary>
    /// A JSON array of 9,000 tool calls of ~1,330 bytes each, written as it is sent (the test holds no
    /// 12 MB copies). Every value is fixed-width, so the length is known up front (Content-Length);
    /// event and user ids are unique (nothing shared between events in the aggregator's memory).
    /// </summary>
    private sealed class FloodBody : HttpContent
    {
        private readonly int _request;
        private readonly string _time;

        public FloodBody(int request, DateTimeOffset time)
        {
            _request = request;
            _time = time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        private string Event(int i) => "{" + string.Join(",",
            $"\"type\":\"tool_call\"", $"\"time\":\"{_time}\"", $"\"event_id\":\"flood-{_request:D2}-{i:D5}\"",
            $"\"agent_id\":\"agent-{i % 40:D2}-{Pad}\"", $"\"tool_name\":\"tool-{i % 25:D2}-{Pad}\"",
            $"\"server_label\":\"server-{i % 7:D1}-{Pad}\"", $"\"user_id\":\"user-{_request:D2}-{i:D5}-{Pad}\"",
            $"\"tenant_id\":\"tenant-{i % 4:D1}\"", "\"model\":\"gpt-4o\"", "\"status\":\"success\"",
            $"\"latency_ms\":{100 + i % 900:D3}.5", $"\"request_bytes\":{1000 + i % 9000:D4}", $"\"response_bytes\":{10000 + i % 90000:D5}") + "}";

        private static readonly string Pad = new('x', 200);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new StringBuilder();
            chunk.Append('[');
            for (var i = 0; i < EventsPerRequest; i++)
            {
                if (i > 0) chunk.Append(',');
                chunk.Append(Event(i));
                if (chunk.Length < 64 * 1024) continue;
                await stream.WriteAsync(Encoding.UTF8.GetBytes(chunk.ToString()));
                chunk.Clear();
            }
            chunk.Append(']');
            await stream.WriteAsync(Encoding.UTF8.GetBytes(chunk.ToString()));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 2 + (long)EventsPerRequest * Encoding.UTF8.GetByteCount(Event(0)) + EventsPerRequest - 1;
            return true;
        }
    }
}
