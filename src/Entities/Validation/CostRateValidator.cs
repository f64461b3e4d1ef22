using System.Globalization;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Entities.Validation;

/// <summary>
/// Semantic checks of a CostRate. The CRD schema rejects most of these at the API server already; the
/// aggregator also reads plain YAML files that no API server has seen, so both sides run this.
/// </summary>
public static class CostRateValidator
{
    public static IReadOnlyList<ValidationProblem> Validate(CostRate rate)
    {
        var problems = new ProblemList();
        var spec = rate.Spec;
        var hasModel = !string.IsNullOrEmpty(spec.Model);
        var hasServer = !string.IsNullOrEmpty(spec.ServerLabel);
        if (hasModel == hasServer)
            problems.Add("spec", "set exactly one of model or serverLabel");
        if (hasModel && spec.InputPerMillionTokens is null)
            problems.Add("spec.inputPerMillionTokens", "is required for a model rate (a decimal string such as \"2.50\")");
        if (hasModel && spec.OutputPerMillionTokens is null)
            problems.Add("spec.outputPerMillionTokens", "is required for a model rate (a decimal string such as \"10.00\")");
        if (hasServer && spec.ToolCallPrice is null)
            problems.Add("spec.toolCallPrice", "is required for a serverLabel rate");
        if (spec.Currency is not { Length: 3 } || !spec.Currency.All(char.IsAsciiLetterUpper))
            problems.Add("spec.currency", $"\"{spec.Currency}\" is not an ISO 4217 code such as USD");
        if (!DateOnly.TryParseExact(spec.EffectiveFrom, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            problems.Add("spec.effectiveFrom", $"\"{spec.EffectiveFrom}\" is not a date YYYY-MM-DD");
        if (spec.TokenEstimation is { } estimation)
        {
            problems.RequireMinimum("spec.tokenEstimation.bytesPerToken", estimation.BytesPerToken, 1);
            problems.RequireMinimum("spec.tokenEstimation.maxOutputTokens", estimation.MaxOutputTokens, 1);
        }
        return problems;
    }
}
