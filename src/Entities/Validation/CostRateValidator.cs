using System.Globalization;
using System.Text.RegularExpressions;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Entities.Validation;

/// <summary>
/// Semantic checks of a CostRate. The CRD schema rejects most of these at the API server already; the
/// aggregator also reads plain YAML files no API server has seen, so the aggregator and the operator both run this.
/// </summary>
public static partial class CostRateValidator
{
    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyCode();

    public static IReadOnlyList<FieldProblem> Validate(CostRate rate)
    {
        var p = new ProblemList();
        var s = rate.Spec;
        p.Require(rate.Metadata?.Name, "metadata.name");
        var hasModel = !string.IsNullOrWhiteSpace(s.Model);
        var hasServer = !string.IsNullOrWhiteSpace(s.ServerLabel);
        if (hasModel == hasServer)
            p.Add("spec.model", "set exactly one of spec.model (token pricing) or spec.serverLabel (per-call pricing)");
        if (hasModel && s.InputPerMillionTokens is null && s.OutputPerMillionTokens is null)
            p.Add("spec.inputPerMillionTokens", "a model rate needs inputPerMillionTokens and/or outputPerMillionTokens");
        if (hasServer && s.ToolCallPrice is null)
            p.Add("spec.toolCallPrice", "a serverLabel rate needs toolCallPrice");
        if (!CurrencyCode().IsMatch(s.Currency ?? ""))
            p.Add("spec.currency", $"\"{s.Currency}\" is not an ISO 4217 code such as USD or EUR");
        if (!DateOnly.TryParseExact(s.EffectiveFrom, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            p.Add("spec.effectiveFrom", $"\"{s.EffectiveFrom}\" is not a date YYYY-MM-DD");
        p.AtLeast(s.TokenEstimation?.BytesPerToken, 1, "spec.tokenEstimation.bytesPerToken");
        p.AtLeast(s.TokenEstimation?.MaxOutputTokens, 1, "spec.tokenEstimation.maxOutputTokens");
        return p.Items;
    }
}
