// Only the ECharts parts the panels use, so the bundle stays small (tree-shaken imports).
import * as echarts from "echarts/core";
import { BarChart, CustomChart, HeatmapChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, VisualMapContinuousComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, CustomChart, HeatmapChart, LineChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent,
  VisualMapContinuousComponent, CanvasRenderer]);

export { echarts };
export type ChartOption = echarts.EChartsCoreOption;

const charts = new Map<HTMLElement, echarts.ECharts>();

/** Draws (or redraws) a chart and resolves once ECharts has finished rendering it. */
export function draw(element: HTMLElement, option: ChartOption): Promise<void> {
  let chart = charts.get(element);
  if (!chart) {
    chart = echarts.init(element, undefined, { renderer: "canvas" });
    charts.set(element, chart);
  }
  const instance = chart;
  return new Promise((resolve) => {
    instance.off("finished");
    instance.on("finished", () => {
      instance.off("finished");
      resolve();
    });
    instance.setOption({ animation: false, ...option }, { notMerge: true });
  });
}

/** Drops a chart whose panel now shows a message instead. */
export function clear(element: HTMLElement): void {
  charts.get(element)?.dispose();
  charts.delete(element);
}

window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));

export const palette = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
  "#ea580c", "#475569", "#94a3b8"];
