import type { UsageResponse } from "../contracts";
import { draw, palette } from "../charts";
import { formatCompact, formatCount, formatPercent, periodLabel } from "../format";
import type { Panel } from "../panel";

export async function renderTopAgents(panel: Panel, usage: UsageResponse, period: string): Promise<void> {
  panel.setSubtitle(`Tool calls per agent, ${periodLabel(period)} (${usage.from} – ${usage.to})`);
  const groups = usage.groups.filter((group) => group.calls > 0);
  if (groups.length === 0) {
    panel.empty(`No tool calls in the ${periodLabel(period)} yet. Calls appear once the gateway sends events ` +
      "(or the audit import runs) and the day is aggregated.");
    return;
  }
  // Largest on top: a horizontal bar chart lists categories bottom-up.
  const ordered = [...groups].sort((a, b) => a.calls - b.calls);
  await draw(panel.chart, {
    color: [palette[1], palette[3]],
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0 },
    grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value", axisLabel: { formatter: (value: number) => formatCompact(value) } },
    yAxis: { type: "category", data: ordered.map((group) => group.key) },
    series: [
      { name: "Succeeded", type: "bar", stack: "calls", data: ordered.map((group) => group.successes) },
      { name: "Failed", type: "bar", stack: "calls", data: ordered.map((group) => group.failures) },
    ],
  });
  panel.ready({
    caption: `Top agents by tool calls, ${usage.from} to ${usage.to}`,
    headers: ["Agent", "Calls", "Failures", "Error rate", "p95 latency (ms)"],
    rows: groups.map((group) => [group.key, formatCount(group.calls), formatCount(group.failures),
      formatPercent(group.errorRate), group.p95LatencyMs === null ? "—" : group.p95LatencyMs.toFixed(0)]),
  });
}
