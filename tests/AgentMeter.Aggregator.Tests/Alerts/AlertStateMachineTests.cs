using AgentMeter.Aggregator.Alerts;

namespace AgentMeter.Aggregator.Tests.Alerts;

public class AlertStateMachineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void OkFiringOk()
    {
        var fire = AlertStateMachine.Next(null, "g", 11, 10, TimeSpan.Zero, T0, "ns/a");
        Assert.Equal(("Firing", "firing"), (fire.Next!.State, fire.Notify));
        var stay = AlertStateMachine.Next(fire.Next, "g", 12, 10, TimeSpan.Zero, T0.AddMinutes(1), "ns/a");
        // Nothing changes but the value: the same state (nothing to write), with the value it fired at.
        Assert.Same(fire.Next, stay.Next);
        Assert.Equal(("Firing", null, 11m), (stay.Next!.State, stay.Notify, stay.Next.Value));
        Assert.Equal(fire.Next.FiringId, stay.Next.FiringId);
        var back = AlertStateMachine.Next(stay.Next, "g", 10, 10, TimeSpan.Zero, T0.AddMinutes(2), "ns/a");
        Assert.Equal(("Ok", "resolved"), (back.Next!.State, back.Notify));
        Assert.Equal(T0, back.Next.LastFiredAt);
    }

    [Fact]
    public void ARefiringInsideTheCooldownIsNotNotifiedNorIsItsEnd()
    {
        var fire = AlertStateMachine.Next(null, "g", 11, 10, TimeSpan.FromHours(1), T0, "ns/a").Next!;
        var ok = AlertStateMachine.Next(fire, "g", 0, 10, TimeSpan.FromHours(1), T0.AddMinutes(5), "ns/a").Next!;
        var again = AlertStateMachine.Next(ok, "g", 20, 10, TimeSpan.FromHours(1), T0.AddMinutes(30), "ns/a");
        Assert.Equal(("Firing", null, false), (again.Next!.State, again.Notify, again.Next.Notified));
        var end = AlertStateMachine.Next(again.Next, "g", 0, 10, TimeSpan.FromHours(1), T0.AddMinutes(40), "ns/a");
        Assert.Equal(("Ok", null), (end.Next!.State, end.Notify));
        var later = AlertStateMachine.Next(end.Next, "g", 20, 10, TimeSpan.FromHours(1), T0.AddMinutes(61), "ns/a");
        Assert.Equal("firing", later.Notify);
    }

    [Fact]
    public void AGroupWithoutDataAndNothingToRememberIsDropped() =>
        Assert.Null(AlertStateMachine.Next(new AlertGroupState("g", "Ok", 1, T0, null, false, null), "g", null, 10, TimeSpan.Zero, T0, "ns/a").Next);
}
