using System.Collections.Concurrent;

namespace AgentMeter.Aggregator.Tests.Infrastructure;

/// <summary>Keeps every formatted log message (with exception text) of a host, at every level.</summary>
public sealed class LogCapture : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>
    /// Waits for a matching line: a background service logs after the database write a test waits on,
    /// so the line can trail the row by a moment. Returns false if none came within the timeout.
    /// </summary>
    public async Task<bool> WaitForAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!Lines.Any(match))
        {
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(20);
        }
        return true;
    }

    public void Dispose() { }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
