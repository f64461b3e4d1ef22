using AgentMeter.Aggregator.Budgets;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Tests.Budgets;

/// <summary>Which budgets apply to a call, and when one refuses it.</summary>
public class BudgetCheckTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    private static BudgetView View(string name, AlertFilter filter, string state, DateTimeOffset periodEnd) =>
        new(new Budget { Spec = new BudgetSpec { Amount = Entities.Values.DecimalString.FromDecimal(100), Filter = filter } }, "team-a", name, filter,
            new BudgetEvaluation("team-a", name, periodEnd.AddMonths(-1), periodEnd, "USD", 100, 120, 150, null, state, "runRate", 100, false, Now, null));

    [Fact]
    public void AFieldTheCallDoesNotGiveDoesNotMatchAndOnlyExceededRefuses()
    {
        var end = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var views = new[]
        {
            View("by-tool", new AlertFilter { TenantId = "acme", ToolName = "search" }, BudgetStates.Exceeded, end),
            View("overrun", new AlertFilter { TenantId = "acme" }, BudgetStates.ProjectedOverrun, end),
        };
        var call = new AlertFilter { TenantId = "acme", AgentId = "a", Model = "gpt-4o" };
        var answer = BudgetCheck.Decide(views, call, callerTenant: null, Now);
        Assert.True(answer.Allow);
        Assert.Equal(["overrun"], answer.Budgets.Select(b => b.Name));

        call.ToolName = "search";
        answer = BudgetCheck.Decide(views, call, callerTenant: null, Now);
        Assert.Equal((false, "deny"), (answer.Allow, answer.Decision));
        Assert.Equal("budget team-a/by-tool is exceeded: spent 120 of 100 USD", answer.Reason);
    }

    [Fact]
    public void AnExceededPeriodThatHasEndedNoLongerRefuses()
    {
        var ended = View("monthly", new AlertFilter { TenantId = "acme" }, BudgetStates.Exceeded, Now.AddMinutes(-1));
        var answer = BudgetCheck.Decide([ended], new AlertFilter { TenantId = "acme" }, callerTenant: "acme", Now);
        Assert.True(answer.Allow);
        Assert.Null(Assert.Single(answer.Budgets).State);
    }
}
