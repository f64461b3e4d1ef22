using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Demo;

/// <summary>
/// Generates the demo's events: <see cref="DemoOptions.Days"/> closed days plus today up to now,
/// with weekly and daily rhythms, growth, per-tool latency with tails, failures, server incidents
/// (circuit-breaker flaps with failing, slow calls), agent requests and SSE sessions. The same seed
/// and day give the same events and event ids, so a second run against the same database adds
/// nothing twice.
/// </summary>
public static class DemoGenerator
{
    private sealed record Incident(string Server, DateTimeOffset Start, TimeSpan Duration, bool Flapping);

    public static List<UsageEvent> Generate(DemoOptions options, DateTimeOffset now)
    {
        var rng = new Random(options.Seed);
        var agents = DemoCatalog.Agents(rng);
        var totalWeight = agents.Sum(a => a.Weight);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var first = today.AddDays(-options.Days);
        var incidents = Incidents(rng, first, options.Days);
        var events = new List<UsageEvent>();

        for (var day = first; day <= today; day = day.AddDays(1))
        {
            var midnight = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var dayIndex = day.DayNumber - first.DayNumber;
            var weekend = day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
            var growth = 0.8 + 0.4 * dayIndex / Math.Max(1, options.Days);
            var calls = (int)(options.CallsPerDay * (weekend ? 0.35 : 1.0) * growth * (0.9 + rng.NextDouble() * 0.2));
            var seq = 0;
            var dayEvents = new List<UsageEvent>();
            string Id() => $"demo-{day:yyyyMMdd}-{seq++}";

            for (var i = 0; i < calls; i++)
            {
                var agent = Pick(agents, rng.NextDouble() * totalWeight);
                var time = midnight + BusinessHoursOffset(rng);
                var tool = agent.Tools[(int)(agent.Tools.Length * Math.Pow(rng.NextDouble(), 1.6))];
                var users = DemoCatalog.Users(agent.Tenant);
                var user = users[(int)(users.Length * Math.Pow(rng.NextDouble(), 2))];
                var incident = incidents.FirstOrDefault(x => x.Server == tool.Server && time >= x.Start && time < x.Start + x.Duration);

                var latency = tool.MedianMs * Math.Exp(0.55 * Normal(rng));
                if (rng.NextDouble() < 0.02) latency *= 4 + rng.NextDouble() * 21; // the tail: retries, cold caches, big results
                var failureRate = 0.012 + (tool.Name is "create_pull_request" or "web_search" or "extract" ? 0.03 : 0);
                var failed = rng.NextDouble() < failureRate;
                if (incident is not null && rng.NextDouble() < 0.7)
                {
                    failed = true;
                    latency = 5_000 + rng.NextDouble() * 25_000; // timeouts while the server is down
                }
                var request = (long)(tool.RequestBytes * Math.Exp(0.4 * Normal(rng)));
                var response = failed ? 200 + rng.Next(400) : (long)(tool.ResponseBytes * Math.Exp(0.7 * Normal(rng)));
                long? input = null, output = null, cached = null;
                if (agent.GatewayCountsTokens)
                {
                    var prompt = 300 + rng.Next(900);
                    input = prompt + (long)Math.Ceiling(response / 3.7);
                    output = 30 + (long)Math.Ceiling(request / 4.2);
                    cached = agent.Model.StartsWith("gpt") || agent.Model.StartsWith("claude") ? prompt * 6 / 10 : null;
                }
                var requestMethod = rng.NextDouble();
                var sendsRequest = rng.NextDouble() < 0.6;
                var (callId, requestId) = (Id(), Id());
                if (time > now) continue; // today: only what has happened so far (ids and draws stay as in a later run)

                dayEvents.Add(new UsageEvent
                {
                    Type = EventTypes.ToolCall, Time = time, EventId = callId, AgentId = agent.Id, ToolName = tool.Name,
                    ServerLabel = tool.Server, UserId = user, TenantId = agent.Tenant, Model = agent.Model,
                    Status = failed ? "failure" : "success", LatencyMs = Math.Round(latency, 2),
                    RequestBytes = request, ResponseBytes = response, InputTokens = input, OutputTokens = output, CachedInputTokens = cached,
                });
                if (sendsRequest)
                    dayEvents.Add(new UsageEvent
                    {
                        Type = EventTypes.AgentRequest, Time = time.AddMilliseconds(-5), EventId = requestId, AgentId = agent.Id,
                        Method = requestMethod switch { < 0.85 => "tools/call", < 0.95 => "tools/list", < 0.98 => "resources/read", _ => "initialize" },
                    });
            }

            foreach (var agent in agents)
            {
                var sessions = weekend ? rng.Next(0, 2) : rng.Next(1, 4);
                for (var s = 0; s < sessions; s++)
                {
                    var opened = midnight + BusinessHoursOffset(rng);
                    var closed = opened + TimeSpan.FromMinutes(10 + rng.Next(230));
                    var (openId, closeId) = (Id(), Id());
                    if (opened <= now)
                        dayEvents.Add(new UsageEvent { Type = EventTypes.SseConnection, Time = opened, EventId = openId, AgentId = agent.Id, State = "opened" });
                    if (closed <= now) // today's later closes have not happened: those sessions are still open
                        dayEvents.Add(new UsageEvent { Type = EventTypes.SseConnection, Time = closed, EventId = closeId, AgentId = agent.Id, State = "closed" });
                }
            }
            events.AddRange(dayEvents);
        }

        foreach (var incident in incidents)
            events.AddRange(BreakerTransitions(incident, rng).Where(e => e.Time <= now));
        events.Sort((a, b) => a.Time.CompareTo(b.Time));
        return events;
    }

    /// <summary>A few outages: each opens the server's circuit breaker; some flap before they settle.</summary>
    private static List<Incident> Incidents(Random rng, DateOnly first, int days)
    {
        var list = new List<Incident>();
        string[] servers = ["github", "tavily", "jira", "github", "postgres", "confluence"];
        for (var i = 0; i < Math.Max(1, days / 5); i++)
        {
            var server = servers[i % servers.Length];
            Incident incident;
            do // one server's outages never overlap: interleaved transitions would leave its breaker in a wrong state
            {
                var day = first.AddDays(rng.Next(days));
                var start = new DateTimeOffset(day.ToDateTime(new TimeOnly(9 + rng.Next(9), rng.Next(60))), TimeSpan.Zero);
                incident = new Incident(server, start, TimeSpan.FromMinutes(15 + rng.Next(150)), Flapping: i % 2 == 0);
            } while (list.Any(o => o.Server == server && o.Start < incident.Start + incident.Duration && incident.Start < o.Start + o.Duration));
            list.Add(incident);
        }
        return list;
    }

    private static IEnumerable<UsageEvent> BreakerTransitions(Incident x, Random rng)
    {
        UsageEvent Breaker(DateTimeOffset t, string state, int n) => new()
        {
            Type = EventTypes.CircuitBreaker, Time = t, EventId = $"demo-breaker-{x.Server}-{x.Start:yyyyMMddHHmm}-{n}", ServerLabel = x.Server, State = state,
        };
        var n = 0;
        var t = x.Start;
        var recovery = x.Start + x.Duration - TimeSpan.FromMinutes(1);
        yield return Breaker(t, "open", n++);
        if (x.Flapping)
        {
            // Probes fail a few times: half_open → open before the server really recovers. A failed
            // probe that would land after the recovering probe is not made: the incident must end closed.
            var flaps = 2 + rng.Next(3);
            for (var i = 0; i < flaps; i++)
            {
                var probe = t + TimeSpan.FromMinutes(2 + rng.Next(6));
                var reopened = probe + TimeSpan.FromSeconds(5 + rng.Next(30));
                if (reopened >= recovery) break;
                yield return Breaker(probe, "half_open", n++);
                yield return Breaker(reopened, "open", n++);
                t = reopened;
            }
        }
        yield return Breaker(recovery, "half_open", n++);
        yield return Breaker(x.Start + x.Duration, "closed", n);
    }

    private static DemoCatalog.Agent Pick(DemoCatalog.Agent[] agents, double target)
    {
        foreach (var a in agents)
        {
            target -= a.Weight;
            if (target <= 0) return a;
        }
        return agents[^1];
    }

    /// <summary>Mostly working hours (peak around 15:00 UTC), some background traffic round the clock.</summary>
    private static TimeSpan BusinessHoursOffset(Random rng)
    {
        var hours = rng.NextDouble() < 0.15 ? rng.NextDouble() * 24 : 15 + 3.2 * Normal(rng);
        hours = ((hours % 24) + 24) % 24;
        return TimeSpan.FromHours(hours);
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
