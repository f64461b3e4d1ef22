// Everything that draws, loaded as its own chunk (with ECharts) while main.ts already fetches the data.
export { clear } from "./charts";
export { renderAlerts } from "./panels/alerts";
export { renderBudgets } from "./panels/budgets";
export { renderCostTrend } from "./panels/costTrend";
export { renderErrorTrends } from "./panels/errorTrends";
export { renderHeadline } from "./panels/headline";
export { renderHealth } from "./panels/health";
export { renderHeatmap } from "./panels/heatmap";
export { renderTopAgents } from "./panels/topAgents";
