using AgentMeter.Operator.Commands;

// agentmeter-operator [run|render]: run (default) reconciles; render prints what run would apply.
return args.FirstOrDefault() switch
{
    "render" => RenderCommand.Run(args[1..], Console.Out, Console.Error),
    "run" => await RunCommand.RunAsync(args[1..]),
    "-h" or "--help" or "help" => Help(),
    _ => await RunCommand.RunAsync(args),
};

static int Help()
{
    Console.WriteLine("usage: agentmeter-operator [run] [--urls URL]   reconcile CostRate, UsageAlert, RetentionPolicy (leader-elected)");
    Console.WriteLine("       " + RenderCommand.Usage["usage: ".Length..] + "   print what run would apply");
    return 0;
}
