namespace AgentMeter.Aggregator.Hosting;

/// <summary>
/// <c>agentmeter-aggregator [serve|aggregate|retention|demo] [--resources PATH]... [--from D] [--to D]</c>;
/// every other argument (e.g. <c>--urls</c>) goes to ASP.NET configuration.
/// </summary>
public sealed record CommandLine(string Verb, IReadOnlyList<string> ResourcePaths, DateOnly? From, DateOnly? To, string[] HostArgs)
{
    public static readonly IReadOnlyList<string> Verbs = ["serve", "aggregate", "retention", "demo"];

    public static CommandLine Parse(string[] args)
    {
        var verb = "serve";
        var rest = args.ToList();
        if (rest.Count > 0 && !rest[0].StartsWith('-'))
        {
            verb = rest[0];
            rest.RemoveAt(0);
            if (!Verbs.Contains(verb))
                throw new CommandLineException($"unknown command \"{verb}\": use one of {string.Join(", ", Verbs)}");
        }
        var resources = new List<string>();
        DateOnly? from = null, to = null;
        var host = new List<string>();
        for (var i = 0; i < rest.Count; i++)
        {
            switch (rest[i])
            {
                case "--resources": resources.Add(Value(rest, ref i)); break;
                case "--from": from = Date(rest, ref i); break;
                case "--to": to = Date(rest, ref i); break;
                default: host.Add(rest[i]); break;
            }
        }
        if (verb == "aggregate" && from is null)
            throw new CommandLineException("aggregate needs --from YYYY-MM-DD (and optionally --to YYYY-MM-DD)");
        if (from > to)
            throw new CommandLineException($"--from {from:yyyy-MM-dd} is after --to {to:yyyy-MM-dd}");
        return new CommandLine(verb, resources, from, to, host.ToArray());
    }

    private static string Value(List<string> args, ref int i)
    {
        if (i + 1 >= args.Count) throw new CommandLineException($"{args[i]} needs a value");
        return args[++i];
    }

    private static DateOnly Date(List<string> args, ref int i)
    {
        var flag = args[i];
        var text = Value(args, ref i);
        return DateOnly.TryParseExact(text, "yyyy-MM-dd", out var d)
            ? d
            : throw new CommandLineException($"{flag} \"{text}\" is not a date YYYY-MM-DD");
    }
}

public sealed class CommandLineException(string message) : Exception(message);
