using System.Diagnostics;
using AgentMeter.Aggregator.Tests.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>
/// The OpenTelemetry .NET SDK as the client: spans made with System.Diagnostics.Activity, exported by
/// its OTLP exporter over HTTP/protobuf and over gRPC, then exported a second time (the same trace and
/// span ids). After aggregation, calls and failures per tool, tokens per model and cost per agent
/// equal what the spans carried, and each span is stored once.
/// </summary>
public sealed class OtlpDotnetSdkTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Theory]
    [InlineData(OtlpExportProtocol.HttpProtobuf, "2026-10-05")]
    [InlineData(OtlpExportProtocol.Grpc, "2026-10-06")]
    public async Task SpansExportedTwiceAreAggregatedExactlyOnce(OtlpExportProtocol protocol, string date)
    {
        var day = DateOnly.Parse(date);
        var scenario = new GenAiScenario(day);
        await using var host = await OtlpHost.StartAsync(db.ConnectionString, scenario.RatesYaml);
        var options = new OtlpExporterOptions
        {
            Protocol = protocol,
            // Over HTTP the SDK posts to the endpoint as given; over gRPC it calls TraceService/Export there.
            Endpoint = protocol == OtlpExportProtocol.Grpc ? host.GrpcAddress : host.TracesUrl,
            Headers = $"Authorization=Bearer {OtlpHost.IngestToken}",
        };

        var (first, again) = ExportTwice(scenario, options);

        Assert.True(first, "the first export (the SDK's batch processor) failed");
        Assert.Equal(ExportResult.Success, again);
        await host.AssertScenarioAsync(day);
        // 2 × (15 stored + 2 skipped): a re-export counts as stored again, and is stored once.
        var metrics = await host.Client(null).GetStringAsync("/metrics");
        Assert.Contains("agentmeter_otlp_spans_total{result=\"stored\"} 30", metrics);
        Assert.Contains($"agentmeter_otlp_spans_total{{result=\"skipped\"}} {2 * GenAiScenario.Skipped}", metrics);
        Assert.Contains("agentmeter_otlp_spans_total{result=\"rejected\"} 0", metrics);
    }

    /// <summary>
    /// The scenario's spans as Activities of an instrumented process (resource: service and tenant),
    /// exported through the SDK's batch processor, then the same Activities through the same exporter.
    /// </summary>
    private static (bool First, ExportResult Again) ExportTwice(GenAiScenario scenario, OtlpExporterOptions options)
    {
        using var source = new ActivitySource($"agentmeter-tests-{Guid.NewGuid():N}");
        var ended = new List<Activity>();
        using var exporter = new OtlpTraceExporter(options);
        using (var provider = Sdk.CreateTracerProviderBuilder()
                   .AddSource(source.Name)
                   .ConfigureResource(r => r.Clear().AddService(GenAiScenario.Service)
                       .AddAttributes(GenAiScenario.Resource.Where(a => a.Key != "service.name")))
                   .AddProcessor(new Collector(ended))
                   .AddProcessor(new BatchActivityExportProcessor(exporter, maxExportBatchSize: 512, scheduledDelayMilliseconds: 60_000))
                   .Build())
        {
            foreach (var spec in scenario.Spans)
            {
                var kind = spec.Kind switch { "client" => ActivityKind.Client, "server" => ActivityKind.Server, _ => ActivityKind.Internal };
                using var activity = source.StartActivity(kind, startTime: spec.Start, name: spec.Name)!;
                foreach (var (key, value) in spec.Attributes) activity.SetTag(key, value);
                if (spec.Error) activity.SetStatus(ActivityStatusCode.Error, "failed");
                activity.SetEndTime(spec.Start.Add(spec.Duration).UtcDateTime);
            }
            var first = provider.ForceFlush(30_000);
            Assert.Equal(scenario.Spans.Count, ended.Count);
            return (first, exporter.Export(new Batch<Activity>([.. ended], ended.Count)));
        }
    }

    /// <summary>Keeps the ended Activities, to export them again.</summary>
    private sealed class Collector(List<Activity> ended) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data) => ended.Add(data);
    }
}
