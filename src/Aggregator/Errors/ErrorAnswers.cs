using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace AgentMeter.Aggregator.Errors;

/// <summary>
/// What an HTTP caller hears of a failure inside the aggregator: a generic message and the trace id,
/// never the exception's text (a database error can quote values, names of tables and columns, or
/// SQL). The exception goes to the log with the same trace id, so an operator finds it from the answer.
/// </summary>
public sealed class ErrorAnswers(ILogger<ErrorAnswers> log) : IExceptionHandler
{
    /// <summary>The request's trace id (W3C, as OpenTelemetry exports it), else ASP.NET Core's request id.</summary>
    public static string TraceId(HttpContext http) =>
        Activity.Current is { } activity && activity.TraceId != default ? activity.TraceId.ToHexString() : http.TraceIdentifier;

    /// <summary>
    /// A failure for a status record or answer: a database error's code (SQLSTATE) and the table, column
    /// or constraint of our schema it names — never its message or detail, which can quote values.
    /// </summary>
    public static string Describe(Exception e)
    {
        if (e is not PostgresException p) return $"{e.GetType().Name} (details in the aggregator's log)";
        var where = p.ColumnName is not null ? $" on {p.TableName}.{p.ColumnName}"
            : p.ConstraintName is not null ? $" on constraint {p.ConstraintName}"
            : p.TableName is not null ? $" on {p.TableName}" : "";
        return $"database error {p.SqlState}{where} (details in the aggregator's log)";
    }

    /// <summary>Every exception an endpoint did not handle: 503 when the database failed, else 500; the client's own bad request keeps its status.</summary>
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        var traceId = TraceId(http);
        if (exception is BadHttpRequestException bad)
        {
            http.Response.StatusCode = bad.StatusCode;
            await http.Response.WriteAsJsonAsync(new { error = bad.Message, traceId }, ct);
            return true;
        }
        var database = exception is NpgsqlException or TimeoutException;
        log.LogError(exception, "{Method} {Path} failed (trace id {TraceId})", http.Request.Method, http.Request.Path, traceId);
        http.Response.StatusCode = database ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError;
        await http.Response.WriteAsJsonAsync(new
        {
            error = database
                ? $"the database failed; try again later (trace id {traceId} in the aggregator's log has the details)"
                : $"internal error (trace id {traceId} in the aggregator's log has the details)",
            traceId,
        }, ct);
        return true;
    }
}
