using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Operator.Tests.Support;

/// <summary>A fake clock that says when a timer (a Task.Delay) was set, so a test advances time only once the code under test waits.</summary>
public sealed class SignallingTimeProvider(DateTimeOffset? start = null) : FakeTimeProvider(start ?? DateTimeOffset.UtcNow)
{
    private readonly SemaphoreSlim _timers = new(0);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _timers.Release();
        return timer;
    }

    public async Task NextTimerAsync() => Assert.True(await _timers.WaitAsync(TimeSpan.FromSeconds(10)), "the code under test set no timer");
}
