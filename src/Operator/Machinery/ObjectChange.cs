namespace AgentMeter.Operator.Machinery;

/// <summary>A change the informer saw: the object before (null when added) and after (null when deleted).</summary>
public sealed record ObjectChange<T>(T? Old, T? New);
