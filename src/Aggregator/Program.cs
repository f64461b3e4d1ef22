using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Hosting;

try
{
    return await AggregatorApp.RunAsync(CommandLine.Parse(args));
}
catch (Exception e) when (e is CommandLineException or PostgresUnavailableException or InvalidOperationException)
{
    // One line that says what to fix, not a stack trace.
    Console.Error.WriteLine($"agentmeter-aggregator: {e.Message}");
    return 2;
}
