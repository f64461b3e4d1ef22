import { ApiError, getBlob, getJson } from "./api";
import type { AlertsResponse, BudgetsResponse, CostsResponse, ErrorsResponse, HealthResponse, HeatmapResponse, UsageResponse } from "./contracts";
import { Panel, element } from "./panel";
import { chargebackGroupings, groupings, periods, readState, writeState, type ViewState } from "./state";
import { readToken, saveToken } from "./token";

// Started now, so that parsing the charting code overlaps the API requests instead of preceding them.
const renderers = import("./render");
void renderers.then((render) => Panel.useChartClearer(render.clear));

const panels = {
  headline: new Panel("headline", "Headline", { chart: false, wide: true }),
  topAgents: new Panel("top-agents", "Top agents by usage"),
  costTrend: new Panel("cost-trend", "Cost trend"),
  heatmap: new Panel("heatmap", "When tools are called"),
  errors: new Panel("error-trends", "Error rates"),
  health: new Panel("server-health", "MCP server health", { wide: true }),
  alerts: new Panel("alerts", "Firing alerts", { chart: false, wide: true }),
  budgets: new Panel("budgets", "Budgets", { wide: true }),
};

const controls = document.getElementById("controls") as HTMLFormElement;
const periodSelect = controls.elements.namedItem("period") as HTMLSelectElement;
const tenantSelect = controls.elements.namedItem("tenant") as HTMLSelectElement;
const groupSelect = controls.elements.namedItem("group_by") as HTMLSelectElement;
const banner = document.getElementById("banner") as HTMLElement;

let state: ViewState = readState();
let generation = 0;
let lastHeatmap: HeatmapResponse | null = null;

function setUp(): void {
  document.getElementById("panels")!.append(...Object.values(panels).map((panel) => panel.root));
  fillSelect(periodSelect, periods.map((period) => [period, `Last ${period.replace("d", "")} days`]), state.period);
  fillSelect(groupSelect, groupings.map((grouping) => [grouping, grouping]), state.groupBy);
  fillSelect(tenantSelect, [["", "All tenants"]], state.tenant);
  controls.addEventListener("change", () => {
    state = { ...state, period: periodSelect.value, tenant: tenantSelect.value, groupBy: groupSelect.value };
    writeState(state);
    void refresh();
  });
  window.addEventListener("popstate", () => {
    state = readState();
    syncControls();
    void refresh();
  });
  setUpTokenDialog();
  setUpDownload();
}

function syncControls(): void {
  fillSelect(periodSelect, periods.map((period) => [period, `Last ${period.replace("d", "")} days`]), state.period);
  groupSelect.value = state.groupBy;
  fillSelect(tenantSelect, [...tenantSelect.options].map((option) => [option.value, option.text]), state.tenant);
}

/** Fetches every panel's data in parallel; each panel draws as soon as its own data is in. */
async function refresh(): Promise<void> {
  const current = ++generation;
  document.body.dataset.drawn = "false";
  banner.hidden = true;
  Object.values(panels).forEach((panel) => panel.loading());
  const filter = { period: state.period, tenant: state.tenant };
  const usage = getJson<UsageResponse>("/api/v1/analytics/usage", { ...filter, group_by: "agent", limit: "10" });
  const costs = getJson<CostsResponse>("/api/v1/analytics/costs", { ...filter, group_by: state.groupBy });
  const heatmap = getJson<HeatmapResponse>("/api/v1/analytics/heatmap", filter);
  const errors = getJson<ErrorsResponse>("/api/v1/analytics/errors", filter);
  const health = getJson<HealthResponse>("/api/v1/analytics/health", filter);
  const alerts = getJson<AlertsResponse>("/api/v1/alerts");
  const budgets = getJson<BudgetsResponse>("/api/v1/budgets");
  const { period, groupBy, tenant } = state;

  await Promise.all([
    loadTenants(current),
    show(current, panels.headline, Promise.all([usage, costs]), (r, [u, c]) => r.renderHeadline(panels.headline, u, c, period)),
    show(current, panels.topAgents, usage, (r, data) => r.renderTopAgents(panels.topAgents, data, period)),
    show(current, panels.costTrend, costs, (r, data) => r.renderCostTrend(panels.costTrend, data, period, groupBy)),
    show(current, panels.heatmap, heatmap, (_, data) => {
      lastHeatmap = data;
      return drawHeatmap();
    }),
    show(current, panels.errors, errors, (r, data) => r.renderErrorTrends(panels.errors, data, period)),
    show(current, panels.health, health, (r, data) => r.renderHealth(panels.health, data, period)),
    show(current, panels.alerts, alerts, (r, data) => r.renderAlerts(panels.alerts, data)),
    show(current, panels.budgets, budgets, (r, data) => r.renderBudgets(panels.budgets, data, tenant)),
  ]);
  if (current === generation) {
    // Read by tests and the benchmark: every panel now shows its chart, its empty note or its error.
    performance.mark("agentmeter:panels-drawn");
    document.body.dataset.drawn = "true";
  }
}

async function drawHeatmap(): Promise<void> {
  return (await renderers).renderHeatmap(panels.heatmap, lastHeatmap!, state.period, state.tool, (tool) => {
    state = { ...state, tool };
    writeState(state);
    void drawHeatmap();
  });
}

type Renderers = Awaited<typeof renderers>;

async function show<T>(current: number, panel: Panel, data: Promise<T>,
  render: (renderers: Renderers, data: T) => Promise<void> | void): Promise<void> {
  try {
    const [value, loaded] = await Promise.all([data, renderers]);
    if (current === generation) await render(loaded, value);
  } catch (error) {
    if (current !== generation) return;
    panel.failed(error);
    if (error instanceof ApiError && error.kind === "unreachable") {
      showBanner("The analytics API is unreachable: is the aggregator running? Reload the page once it is.");
    } else if (error instanceof ApiError && (error.kind === "unauthorized" || error.kind === "forbidden")) {
      showBanner(error.message);
    }
  }
}

/** The tenant list comes from the usage of the period grouped by tenant: a tenant token sees its own only. */
async function loadTenants(current: number): Promise<void> {
  try {
    const byTenant = await getJson<UsageResponse>("/api/v1/analytics/usage",
      { period: state.period, group_by: "tenant", limit: "1000" });
    if (current !== generation) return;
    const tenants = byTenant.groups.map((group) => group.key).filter((key) => key !== "");
    if (state.tenant !== "" && !tenants.includes(state.tenant)) tenants.push(state.tenant);
    fillSelect(tenantSelect, [["", "All tenants"], ...tenants.sort().map((tenant): [string, string] => [tenant, tenant])],
      state.tenant);
  } catch {
    // The panels report the same failure; the list simply keeps what it had.
  }
}

function fillSelect(select: HTMLSelectElement, options: Array<[string, string]>, selected: string): void {
  if (!options.some(([value]) => value === selected)) options.push([selected, selected]);
  select.replaceChildren(...options.map(([value, text]) => {
    const option = element("option");
    option.value = value;
    option.textContent = text;
    return option;
  }));
  select.value = selected;
}

function showBanner(text: string): void {
  banner.textContent = text;
  banner.hidden = false;
}

/**
 * "Download CSV": the chargeback report of the chosen month for the view's tenant and grouping.
 * Fetched with the bearer token (a plain link could not send it), then saved from a blob: URL —
 * a download, which the page's Content-Security-Policy does not govern (it loads nothing from blob:).
 */
function setUpDownload(): void {
  const box = document.getElementById("download") as HTMLElement;
  const month = box.querySelector("input") as HTMLInputElement;
  const button = box.querySelector("button") as HTMLButtonElement;
  month.value = month.max = new Date().toISOString().slice(0, 7);
  button.addEventListener("click", async () => {
    const groupBy = (chargebackGroupings as readonly string[]).includes(state.groupBy) ? state.groupBy : "tenant";
    button.disabled = true;
    try {
      const csv = await getBlob("/api/v1/reports/chargeback", { month: month.value, group_by: groupBy, tenant: state.tenant, format: "csv" });
      const link = element("a");
      link.href = URL.createObjectURL(csv);
      link.download = `agentmeter-chargeback-${groupBy}-${month.value}${state.tenant ? `-${state.tenant}` : ""}.csv`;
      link.click();
      // The browser has taken the file once the click is handled; the URL only holds memory.
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (error) {
      showBanner(error instanceof Error ? error.message : String(error));
    } finally {
      button.disabled = false;
    }
  });
}

function setUpTokenDialog(): void {
  const button = document.getElementById("token-button") as HTMLButtonElement;
  const dialog = document.getElementById("token-dialog") as HTMLDialogElement;
  const input = dialog.querySelector("input") as HTMLInputElement;
  const label = () => {
    button.textContent = readToken() ? "Token ✓" : "Token";
  };
  label();
  button.addEventListener("click", () => {
    input.value = readToken() ?? "";
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "save") saveToken(input.value);
    if (dialog.returnValue === "forget") saveToken("");
    input.value = "";
    label();
    if (dialog.returnValue === "save" || dialog.returnValue === "forget") void refresh();
  });
}

setUp();
void refresh();
