namespace AgentMeter.Aggregator.Reports;

public static class ReportsSetup
{
    public static WebApplicationBuilder AddReports(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<FocusExport>();
        builder.Services.AddSingleton<ChargebackReport>();
        return builder;
    }
}
