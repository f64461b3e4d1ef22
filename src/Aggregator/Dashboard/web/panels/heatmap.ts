import type { HeatmapResponse } from "../contracts";
import { draw } from "../charts";
import { formatCount, periodLabel } from "../format";
import { element, type Panel } from "../panel";

const days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const hours = Array.from({ length: 24 }, (_, hour) => `${String(hour).padStart(2, "0")}:00`);

/** Hour of day × day of week for all tools or the one picked in the panel (kept in the URL as `tool`). */
export async function renderHeatmap(panel: Panel, heatmap: HeatmapResponse, period: string, tool: string,
  onTool: (tool: string) => void): Promise<void> {
  renderToolPicker(panel, heatmap.tools, tool, onTool);
  const shown = tool !== "" && heatmap.tools.includes(tool) ? tool : "";
  panel.setSubtitle(`${shown === "" ? "All tools" : `Tool “${shown}”`}, calls by UTC hour and weekday, ` +
    `${periodLabel(period)}`);

  const grid = days.map(() => new Array<number>(24).fill(0));
  for (const cell of heatmap.cells) {
    if (shown !== "" && cell.tool !== shown) continue;
    grid[cell.dayOfWeek - 1]![cell.hour]! += cell.calls;
  }
  const total = grid.flat().reduce((sum, calls) => sum + calls, 0);
  if (total === 0) {
    panel.empty(`No tool calls in the ${periodLabel(period)} yet, so there is no pattern to show.`);
    return;
  }
  const max = Math.max(...grid.flat());
  const data = grid.flatMap((row, day) => row.map((calls, hour) => [hour, day, calls]));
  await draw(panel.chart, {
    tooltip: {
      position: "top",
      formatter: (params: { value: number[] }) =>
        `${days[params.value[1]!]} ${hours[params.value[0]!]} UTC: ${formatCount(params.value[2]!)} calls`,
    },
    grid: { left: 8, right: 8, top: 8, bottom: 56, containLabel: true },
    xAxis: { type: "category", data: hours, splitArea: { show: true } },
    yAxis: { type: "category", data: days, inverse: true, splitArea: { show: true } },
    visualMap: { min: 0, max, calculable: false, orient: "horizontal", left: "center", bottom: 0,
      inRange: { color: ["#eff6ff", "#93c5fd", "#2563eb", "#1e3a8a"] } },
    series: [{ name: "Calls", type: "heatmap", data, emphasis: { itemStyle: { borderColor: "#111", borderWidth: 1 } } }],
  });
  panel.ready({
    caption: `Tool calls per weekday${shown ? ` for ${shown}` : ""}, ${heatmap.from} to ${heatmap.to}`,
    headers: ["Day", "Calls", "Busiest hour (UTC)"],
    rows: grid.map((row, day) => {
      const busiest = row.indexOf(Math.max(...row));
      return [days[day]!, formatCount(row.reduce((a, b) => a + b, 0)), hours[busiest]!];
    }),
  });
}

function renderToolPicker(panel: Panel, tools: string[], tool: string, onTool: (tool: string) => void): void {
  const select = element("select");
  select.name = "tool";
  select.setAttribute("aria-label", "Tool shown in the heatmap");
  for (const name of ["", ...tools]) {
    const option = element("option");
    option.value = name;
    option.textContent = name === "" ? "All tools" : name;
    option.selected = name === tool;
    select.append(option);
  }
  select.addEventListener("change", () => onTool(select.value));
  panel.tools.replaceChildren(select);
}
