import type { ErrorsResponse } from "../contracts";
import { draw, palette } from "../charts";
import { formatCount, formatPercent, periodLabel } from "../format";
import type { Panel } from "../panel";

export async function renderErrorTrends(panel: Panel, errors: ErrorsResponse, period: string): Promise<void> {
  panel.setSubtitle(`Share of failed tool calls and webhook deliveries per day, ${periodLabel(period)}`);
  const active = errors.days.filter((day) => day.toolCalls > 0 || day.webhookDeliveries > 0);
  if (active.length === 0) {
    panel.empty(`No tool calls or webhook deliveries in the ${periodLabel(period)} yet, so there is no error rate to show.`);
    return;
  }
  const percent = (ratio: number | null, count: number) => (count > 0 && ratio !== null ? +(ratio * 100).toFixed(3) : null);
  await draw(panel.chart, {
    color: [palette[3], palette[4]],
    tooltip: { trigger: "axis", valueFormatter: (value: number | null) => (value === null ? "no traffic" : `${value}%`) },
    legend: { top: 0 },
    grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: errors.days.map((day) => day.date), boundaryGap: false },
    yAxis: { type: "value", min: 0, axisLabel: { formatter: "{value}%" } },
    series: [
      { name: "Tool call failures", type: "line", symbol: "none", connectNulls: false,
        data: errors.days.map((day) => percent(day.toolFailureRate, day.toolCalls)) },
      { name: "Webhook delivery failures", type: "line", symbol: "none", connectNulls: false,
        data: errors.days.map((day) => percent(day.webhookFailureRate, day.webhookDeliveries)) },
    ],
  });
  panel.ready({
    caption: `Failure rates per day, ${errors.from} to ${errors.to}`,
    headers: ["Date", "Tool calls", "Tool failure rate", "Webhook deliveries", "Webhook failure rate"],
    rows: errors.days.map((day) => [day.date, formatCount(day.toolCalls), formatPercent(day.toolFailureRate, 2),
      formatCount(day.webhookDeliveries), formatPercent(day.webhookFailureRate, 2)]),
  });
}
