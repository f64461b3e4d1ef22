import type { BreakerState, HealthResponse } from "../contracts";
import { draw, echarts } from "../charts";
import { periodLabel } from "../format";
import type { Panel } from "../panel";

const states: Record<BreakerState, { label: string; color: string }> = {
  closed: { label: "up (closed)", color: "#16a34a" },
  half_open: { label: "half-open", color: "#f59e0b" },
  open: { label: "open", color: "#dc2626" },
};

interface RenderApi {
  value(dimension: number): number;
  coord(point: number[]): number[];
  size(value: number[]): number[];
}
interface RenderParams {
  coordSys: { x: number; y: number; width: number; height: number };
}

/** One row per MCP server: its circuit-breaker intervals along time, labelled with its uptime. */
export async function renderHealth(panel: Panel, health: HealthResponse, period: string): Promise<void> {
  panel.setSubtitle(`Circuit-breaker state per MCP server, ${periodLabel(period)}`);
  const servers = health.servers.filter((server) => server.intervals.length > 0);
  if (servers.length === 0) {
    panel.empty(`No circuit-breaker events in the ${periodLabel(period)}: the gateway has not reported any MCP server yet.`);
    return;
  }
  const labels = servers.map((server) => `${server.server}  ${server.uptimePercent.toFixed(1)}%`);
  const data = servers.flatMap((server, row) => server.intervals.map((interval) => ({
    value: [row, Date.parse(interval.from), Date.parse(interval.to), interval.state],
    itemStyle: { color: states[interval.state]?.color ?? "#94a3b8" },
  })));
  await draw(panel.chart, {
    tooltip: {
      formatter: (params: { value: [number, number, number, BreakerState] }) => {
        const [row, from, to, state] = params.value;
        return `${servers[row]!.server}: ${states[state]?.label ?? state}<br>` +
          `${new Date(from).toISOString().slice(0, 16).replace("T", " ")} – ` +
          `${new Date(to).toISOString().slice(0, 16).replace("T", " ")} UTC`;
      },
    },
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "time", min: Date.parse(`${health.from}T00:00:00Z`), axisLabel: { formatter: "{MMM} {d}" } },
    yAxis: { type: "category", data: labels, inverse: true },
    series: [{
      type: "custom",
      name: "Circuit breaker",
      encode: { x: [1, 2], y: 0 },
      data,
      renderItem: (params: RenderParams, api: RenderApi) => {
        const start = api.coord([api.value(1), api.value(0)]);
        const end = api.coord([api.value(2), api.value(0)]);
        const height = api.size([0, 1])[1]! * 0.6;
        const shape = echarts.graphic.clipRectByRect(
          { x: start[0]!, y: start[1]! - height / 2, width: Math.max(end[0]! - start[0]!, 1), height },
          params.coordSys);
        return shape && { type: "rect", shape, style: { fill: (api as unknown as { visual(key: string): string }).visual("color") } };
      },
    }],
  });
  panel.tools.replaceChildren(...legend());
  panel.ready({
    caption: `MCP server health, ${health.from} to ${health.to}`,
    headers: ["Server", "Uptime", "Current state", "Open intervals"],
    rows: servers.map((server) => [server.server, `${server.uptimePercent.toFixed(1)}%`,
      states[server.currentState]?.label ?? server.currentState,
      String(server.intervals.filter((interval) => interval.state === "open").length)]),
  });
}

function legend(): HTMLElement[] {
  return Object.values(states).map(({ label, color }) => {
    const item = document.createElement("span");
    item.className = "legend-item";
    const swatch = document.createElement("i");
    swatch.style.background = color;
    item.append(swatch, label);
    return item;
  });
}
