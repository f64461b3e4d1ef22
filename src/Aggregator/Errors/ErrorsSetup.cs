namespace AgentMeter.Aggregator.Errors;

public static class ErrorsSetup
{
    /// <summary>Unhandled exceptions of every endpoint answered by <see cref="ErrorAnswers"/> (with <c>app.UseExceptionHandler()</c>).</summary>
    public static WebApplicationBuilder AddErrorAnswers(this WebApplicationBuilder builder)
    {
        builder.Services.AddExceptionHandler<ErrorAnswers>();
        builder.Services.AddProblemDetails();
        return builder;
    }
}
