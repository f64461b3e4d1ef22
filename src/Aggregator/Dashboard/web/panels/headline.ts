import type { CostsResponse, UsageResponse } from "../contracts";
import { formatCompact, formatCount, formatMoney, formatPercent, periodLabel } from "../format";
import { element, type Panel } from "../panel";

/** The four figures an operator looks at first. */
export function renderHeadline(panel: Panel, usage: UsageResponse, costs: CostsResponse, period: string): void {
  panel.setSubtitle(`${periodLabel(period)} (${usage.from} – ${usage.to})`);
  if (usage.totals.calls === 0 && costs.unpriced.calls === 0) {
    panel.empty(`No usage in the ${periodLabel(period)} yet: figures appear once events are ingested and aggregated.`);
    return;
  }
  const cost = costs.currencies.length === 0
    ? formatMoney(0, "USD")
    : costs.currencies.map((currency) => formatMoney(currency.total, currency.currency)).join(" + ");
  const unpricedTokens = costs.unpriced.inputTokens + costs.unpriced.outputTokens;
  const unpricedModels = costs.unpriced.models.map((model) => model.model).join(", ");
  const figures: Array<[string, string, string]> = [
    ["cost", "Estimated cost", cost],
    ["calls", "Tool calls", formatCount(usage.totals.calls)],
    ["error-rate", "Error rate", formatPercent(usage.totals.errorRate, 2)],
    ["unpriced", "Unpriced tokens", formatCompact(unpricedTokens)],
  ];
  panel.chart.replaceChildren(...figures.map(([key, label, value]) => {
    const figure = element("div", "figure");
    figure.dataset.figure = key;
    const number = element("strong");
    number.textContent = value;
    const caption = element("span");
    caption.textContent = label;
    figure.append(number, caption);
    if (key === "unpriced" && unpricedModels) figure.title = `Models without a CostRate: ${unpricedModels}`;
    return figure;
  }));
  panel.ready({
    caption: `Headline figures, ${usage.from} to ${usage.to}`,
    headers: ["Figure", "Value"],
    rows: [...figures.map(([, label, value]) => [label, value]),
      ["Models without a CostRate", unpricedModels || "none"]],
  });
}
