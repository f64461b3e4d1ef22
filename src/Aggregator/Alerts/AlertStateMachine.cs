namespace AgentMeter.Aggregator.Alerts;

/// <summary>What one evaluation does to a group: its next state and the notification to send, if any.</summary>
public readonly record struct AlertTransition(AlertGroupState? Next, string? Notify);

/// <summary>
/// Ok → Firing when the value exceeds the threshold (strictly, as the generated PrometheusRule does);
/// Firing → Ok when it no longer does or the group has no data. A firing is notified unless the last
/// notified firing of the group is less than <c>cooldown</c> ago (then it is Firing but suppressed,
/// and its end is not notified either). A group Ok with nothing to remember is dropped (Next = null).
/// A group whose state does not change keeps its state object (Next is previous): its value stays the one
/// of its last change, the current value is the caller's to show.
/// </summary>
public static class AlertStateMachine
{
    public static AlertTransition Next(AlertGroupState? previous, string group, decimal? value, decimal threshold,
        TimeSpan cooldown, DateTimeOffset now, string firingIdPrefix)
    {
        var above = value > threshold;
        if (previous is { State: AlertGroupState.Firing })
        {
            if (above) return new AlertTransition(previous, null);
            var resolved = previous with { State = AlertGroupState.Ok, Value = value, Since = now };
            return new AlertTransition(resolved, previous.Notified ? Webhooks.AlertNotification.Resolved : null);
        }
        if (above)
        {
            var notify = previous?.LastFiredAt is not { } last || now - last >= cooldown;
            var firing = new AlertGroupState(group, AlertGroupState.Firing, value, now,
                notify ? now : previous!.LastFiredAt, notify, $"{firingIdPrefix}/{group}@{now.UtcTicks}");
            return new AlertTransition(firing, notify ? Webhooks.AlertNotification.Firing : null);
        }
        if (value is null && (previous?.LastFiredAt is not { } fired || now - fired >= cooldown))
            return new AlertTransition(null, null);
        return new AlertTransition(previous ?? new AlertGroupState(group, AlertGroupState.Ok, value, now, null, false, null), null);
    }
}
