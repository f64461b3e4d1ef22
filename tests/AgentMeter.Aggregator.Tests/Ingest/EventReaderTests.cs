using System.Text;
using AgentMeter.Aggregator.Ingest;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// The reader checks events straight from the UTF-8 body: JSON's corner cases (property order,
/// repeated names, escapes, nested values, syntax errors after good events) give the outcome of
/// reading the body as a whole document.
/// </summary>
public class EventReaderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static EventBatch Read(string body, bool ndjson = false, int maxEvents = 10) =>
        EventBatchReader.Read(Encoding.UTF8.GetBytes(body), ndjson, Now, new IngestOptions { MaxBatchEvents = maxEvents });

    private static List<string> Problems(EventBatch batch) => batch.Problems.Select(p => $"{p.Index}|{p.Field}|{p.Problem}").ToList();

    private const string Time = "\"time\":\"2026-11-28T13:05:00Z\"";

    [Fact]
    public void TheTypeMayComeAnywhereAndWhenRepeatedTheLastOneCounts()
    {
        var batch = Read($$"""
            [{"agent_id":"a",{{Time}},"method":"m","type":"agent_request"},
             {"type":"circuit_breaker","agent_id":"a",{{Time}},"state":"opened","type":"sse_connection"},
             {"type":"sse_connection","agent_id":"a",{{Time}},"method":"m","type":"agent_request"},
             {"type":"agent_request","agent_id":"a",{{Time}},"method":"m","type":"page_view"}]
            """);
        Assert.Equal(["agent_request", "sse_connection", "agent_request"], batch.Events.Select(e => e.Type));
        Assert.Equal([null, "opened", null], batch.Events.Select(e => e.State));
        Assert.Equal(["3|type|\"page_view\" is not an event type; accepts tool_call, agent_request, circuit_breaker, sse_connection, model_call"], Problems(batch));
    }

    [Fact]
    public void ARepeatedFieldIsCheckedEachTimeAndTheLastValueIsKept()
    {
        var batch = Read($$"""
            [{"type":"agent_request",{{Time}},"agent_id":"a","agent_id":"b","method":"m"},
             {"type":"agent_request",{{Time}},"agent_id":1,"agent_id":"b","method":"m"},
             {"type":"agent_request","time":"soon",{{Time}},"agent_id":"a","method":"m"}]
            """);
        Assert.Equal("b", Assert.Single(batch.Events).AgentId);
        Assert.Equal(["1|agent_id|must be a string, got a number", "2|time|\"soon\" is not an RFC 3339 timestamp such as 2026-11-28T13:05:00Z"],
            Problems(batch));
    }

    [Fact]
    public void EscapedNamesAndValuesAreReadUnescapedAndUnknownNamesAreShownAsSent()
    {
        var batch = Read($$"""
            [{"\u0074ype":"agent\u005frequest",{{Time}},"agent\u005fid":"\u0061\t","met\u0068od":"tools/call"},
             {"type":"circuit_breaker",{{Time}},"server_label":"s","state":"h\u0061lf_open"},
             {"type":"circuit_breaker",{{Time}},"server_label":"s","state":"open","st\u00e4te":"x","státus":"y","x\"y":1}]
            """);
        Assert.Equal(2, batch.Events.Count);
        Assert.Equal(("agent_request", "a\t", "tools/call"), (batch.Events[0].Type, batch.Events[0].AgentId, batch.Events[0].Method));
        Assert.Equal("half_open", batch.Events[1].State);
        const string Accepts = "is not a field of circuit_breaker; accepts type, time, event_id, server_label, state";
        Assert.Equal([$"2|stäte|{Accepts}", $"2|státus|{Accepts}", $"2|x\"y|{Accepts}"], Problems(batch));
    }

    [Fact]
    public void ValuesAreShownBackAsSentShortenedAndNestedValuesAreSkippedWhole()
    {
        var batch = Read($$"""
            [{"type":"tool_call",{{Time}},"agent_id":"a","tool_name":"t","server_label":"s","status":{"nested":[1,{"status":"success"}]},
              "latency_ms":1e400,"request_bytes":"{{new string('9', 80)}}","response_bytes":[1, 2],"input_tokens":-0,"output_tokens":1.0}]
            """);
        Assert.Empty(batch.Events);
        Assert.Equal(
        [
            "0|status|{\"nested\":[1,{\"status\":\"success\"}]} is not accepted; accepts success, failure",
            "0|latency_ms|1e400 is not a number of milliseconds from 0 to 86400000 (24 hours)",
            $"0|request_bytes|\"{new string('9', 56)}... is not a whole number from 0 to 100000000",
            "0|response_bytes|[1, 2] is not a whole number from 0 to 100000000",
            "0|output_tokens|1.0 is not a whole number from 0 to 100000000",
        ], Problems(batch));
    }

    [Fact]
    public void NonObjectEventsAndMissingFieldsAreNamed()
    {
        var batch = Read($$"""[1, "x", [{"type":"tool_call"}], null, true, {}, {"type":"sse_connection",{{Time}},"agent_id":null,"state":null}]""");
        Assert.Equal(
        [
            "0||an event must be a JSON object, got a number", "1||an event must be a JSON object, got a string",
            "2||an event must be a JSON object, got an array", "3||an event must be a JSON object, got null",
            "4||an event must be a JSON object, got a boolean", "5|type|is required", "5|time|is required",
            "6|agent_id|is required", "6|state|is required",
        ], Problems(batch));
    }

    [Theory]
    [InlineData("", "is not valid JSON at line 1, byte 1")]
    [InlineData("  \n ", "is not valid JSON at line 2, byte 2")]
    [InlineData("[1, 2] x", "is not valid JSON at line 1, byte 8")]
    [InlineData("[{\"type\":\"page_view\"},\n {\"type\":1,}]", "is not valid JSON at line 2, byte 12")]
    [InlineData("{\"type\":\"tool_call\"}", "must be a JSON array of events")]
    [InlineData("{\"type\":\"tool_call\"} {", "is not valid JSON at line 1, byte 22")]
    [InlineData("\"events\"", "must be a JSON array of events")]
    public void ABodyThatIsNotAJsonArrayHasOneProblemWhateverTheEventsHold(string body, string problem)
    {
        var batch = Read(body);
        Assert.Empty(batch.Events);
        var only = Assert.Single(batch.Problems);
        Assert.Equal((null, "body"), (only.Index, only.Field));
        Assert.StartsWith(problem, only.Problem);
    }

    [Fact]
    public void TheEventLimitCountsEveryElementButASyntaxErrorComesFirst()
    {
        var events = string.Join(",", Enumerable.Repeat($$"""{"type":"agent_request",{{Time}},"agent_id":"a","method":"m"}""", 4));
        Assert.Equal("the batch has 7 events; at most 3 per request (Ingest__MaxBatchEvents): split it",
            Read($"[{events},1,[[]],{{}}]", maxEvents: 3).TooLarge);
        Assert.Equal(4, Read($"[{events}]", maxEvents: 4).Events.Count);
        var broken = Read($"[{events},{{\"a\":]", maxEvents: 3);
        Assert.Null(broken.TooLarge);
        Assert.StartsWith("is not valid JSON at line 1", Assert.Single(broken.Problems).Problem);
    }

    [Fact]
    public void AnNdjsonLineThatIsNotOneJsonValueHasOnlyThatProblem()
    {
        var good = $$"""{"type":"agent_request",{{Time}},"agent_id":"a","method":"m"}""";
        var batch = Read(string.Join("\n",
            good,
            """{"type":"page_view","x":1} {""",
            """{"type":"page_view"}""",
            " \t\r",
            "[1]",
            good + "\r"), ndjson: true);
        Assert.Equal(2, batch.Events.Count);
        Assert.Equal(
        [
            "1||line is not valid JSON at byte 28: one JSON object per line",
            "2|type|\"page_view\" is not an event type; accepts tool_call, agent_request, circuit_breaker, sse_connection, model_call",
            "2|time|is required",
            "3||an event must be a JSON object, got an array",
        ], Problems(batch));
    }

    [Fact]
    public void EscapedHalvesOfSurrogatePairsAreNamedNotThrown()
    {
        // Valid JSON, but not text: System.Text.Json refuses to read these as strings.
        var batch = Read($$"""
            [{"type":"circuit_breaker",{{Time}},"server_label":"s","state":"\ud800"},
             {"type":"circuit_breaker",{{Time}},"server_label":"s","state":"open","\udc00x":1},
             {"type":"\udfff",{{Time}}},
             {"\ud800":"agent_request",{{Time}},"agent_id":"a","method":"m"},
             {"type":"agent_request",{{Time}},"agent_id":"a\ud800\ud800","method":"m","event_id":"\ude00"},
             {"type":"agent_request","time":"2026-11-28T13:05:00\udc00Z","agent_id":"\ud83d\ude00","method":"m"}]
            """);
        const string NotText = "is not valid UTF-8 text (or escapes half a surrogate pair)";
        Assert.Equal(
        [
            "0|state|\"\\ud800\" is not accepted; accepts closed, open, half_open",
            $"1|\\udc00x|{NotText}",
            $"2|type|{NotText}",
            "3|type|is required",
            $"4|agent_id|{NotText}",
            $"4|event_id|{NotText}",
            $"5|time|{NotText}",
        ], Problems(batch));
        Assert.Empty(batch.Events);
    }
}
