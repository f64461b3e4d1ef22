import type { CostCurrency, CostsResponse } from "../contracts";
import { draw, palette } from "../charts";
import { formatMoney, formatPercent, periodLabel } from "../format";
import type { Panel } from "../panel";

/** Lines past this many groups are summed into "other" so the chart stays readable. */
const maxLines = 8;

export async function renderCostTrend(panel: Panel, costs: CostsResponse, period: string, groupBy: string): Promise<void> {
  // Costs in different currencies are never added up: the panel shows the largest and names the rest.
  const [main, ...others] = [...costs.currencies].sort((a, b) => b.total - a.total);
  if (!main || main.total === 0) {
    panel.setSubtitle(`Estimated cost per ${groupBy}, ${periodLabel(period)}`);
    panel.empty(costs.unpriced.calls > 0
      ? `No priced usage in the ${periodLabel(period)}: ${costs.unpriced.calls} calls used models without a CostRate.`
      : `No cost in the ${periodLabel(period)} yet: costs appear once calls are aggregated and priced by a CostRate.`);
    return;
  }
  const otherText = others.length ? ` (also ${others.map((c) => formatMoney(c.total, c.currency)).join(", ")})` : "";
  panel.setSubtitle(`Estimated ${main.currency} cost per ${groupBy} and day, ${periodLabel(period)}${otherText}`);

  const { keys, rest } = splitGroups(main);
  const dates = main.series.map((day) => day.date);
  const line = (name: string, values: number[]) => ({
    name, type: "line", stack: "cost", areaStyle: { opacity: 0.25 }, symbol: "none", data: values,
  });
  const series = keys.map((key) => line(key, main.series.map((day) => day.byGroup[key] ?? 0)));
  if (rest.length > 0 || (main.groupCount ?? 0) > keys.length) {
    // The day's total minus the groups drawn, so groups past the API's limit are counted too.
    series.push(line("other", main.series.map((day) =>
      Math.max(0, day.cost - keys.reduce((sum, key) => sum + (day.byGroup[key] ?? 0), 0)))));
  }
  await draw(panel.chart, {
    color: palette,
    tooltip: { trigger: "axis", valueFormatter: (value: number) => formatMoney(value, main.currency) },
    legend: { type: "scroll", top: 0 },
    grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: dates, boundaryGap: false },
    yAxis: { type: "value", axisLabel: { formatter: (value: number) => formatMoney(value, main.currency) } },
    series,
  });
  panel.ready({
    caption: `Estimated cost per ${groupBy}, ${costs.from} to ${costs.to}`,
    headers: [capitalize(groupBy), "Cost", "Share"],
    rows: main.groups.map((group) => [group.key, formatMoney(group.cost, main.currency), formatPercent(group.share)]),
  });
}

function splitGroups(currency: CostCurrency): { keys: string[]; rest: string[] } {
  const ordered = [...currency.groups].sort((a, b) => b.cost - a.cost).map((group) => group.key);
  if (ordered.length <= maxLines) return { keys: ordered, rest: [] };
  return { keys: ordered.slice(0, maxLines - 1), rest: ordered.slice(maxLines - 1) };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
