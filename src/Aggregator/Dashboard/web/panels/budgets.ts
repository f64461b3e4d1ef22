import type { BudgetView, BudgetsResponse } from "../contracts";
import { draw, palette } from "../charts";
import { formatMoney } from "../format";
import type { Panel } from "../panel";

/**
 * Spent and projected against the amount, per budget, as percentages of the amount (budgets differ in size and
 * currency); the 100 % line is the amount. The data table carries the money.
 */
const Cap = 200;

export async function renderBudgets(panel: Panel, response: BudgetsResponse, tenant: string): Promise<void> {
  const budgets = response.budgets.filter((budget) => tenant === "" || budget.filter?.tenantId === tenant);
  const evaluated = budgets.filter((budget) => budget.spent !== null && budget.projected !== null);
  const over = evaluated.filter((budget) => budget.state === "Exceeded" || budget.state === "ProjectedOverrun").length;
  panel.setSubtitle(`${budgets.length} Budget${budgets.length === 1 ? "" : "s"} this period: ${over} exceeded or projected over, ` +
    `${budgets.length - evaluated.length} not evaluated yet`);
  if (budgets.length === 0) {
    panel.empty(tenant === ""
      ? "No Budget is configured: apply one with kubectl (or --resources) to follow spend against it here."
      : `No Budget is set for tenant ${tenant}.`);
    return;
  }
  if (evaluated.length === 0) {
    panel.empty(`No Budget has been evaluated yet${budgets.some((b) => b.error) ? `: ${budgets.find((b) => b.error)!.error}` : ""}.`);
    return;
  }
  const percent = (value: string, budget: BudgetView) => Math.round((Number(value) / Number(budget.amount)) * 1000) / 10;
  const ordered = [...evaluated].reverse(); // first budget on top
  // Bars stop at twice the amount so one runaway budget does not flatten the others; the label says the real figure.
  const bars = (values: number[]) => ({
    data: values.map((value) => Math.min(value, Cap)),
    label: { show: true, position: "right", formatter: (p: { dataIndex: number }) => `${values[p.dataIndex]} %` },
  });
  const spent = ordered.map((budget) => percent(budget.spent!, budget));
  const projected = ordered.map((budget) => percent(budget.projected!, budget));
  await draw(panel.chart, {
    color: [palette[0], palette[2]],
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0 },
    grid: { left: 8, right: 80, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value", max: (extent: { max: number }) => Math.max(100, extent.max), axisLabel: { formatter: (value: number) => `${value} %` } },
    yAxis: { type: "category", data: ordered.map((budget) => `${budget.namespace}/${budget.name}`) },
    series: [
      {
        name: "Spent", type: "bar", ...bars(spent),
        markLine: { symbol: "none", data: [{ xAxis: 100, name: "Amount" }], label: { formatter: "amount" }, lineStyle: { color: palette[3] } },
      },
      { name: "Projected", type: "bar", ...bars(projected) },
    ],
  });
  panel.ready({
    caption: "Budgets: spent and projected against the amount of the current period",
    headers: ["Budget", "Period", "Amount", "Spent", "Projected", "Used", "Runs out", "State"],
    rows: evaluated.map((budget) => [`${budget.namespace}/${budget.name}`, budget.period,
      formatMoney(Number(budget.amount), budget.currency), formatMoney(Number(budget.spent), budget.currency),
      formatMoney(Number(budget.projected), budget.currency), `${budget.percentUsed} %`,
      budget.projectedExhaustion || "—", budget.state ?? "—"]),
  });
}
