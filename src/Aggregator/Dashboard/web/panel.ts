import { ApiError } from "./api";

/** The accessible twin of a chart: a table of the figures drawn, read by screen readers (and tests). */
export interface DataTable {
  caption: string;
  headers: string[];
  rows: string[][];
}

export type PanelState = "loading" | "empty" | "error" | "ready";

/**
 * One card of the dashboard. It always says what it is doing: loading, no data yet (and why),
 * which error, or the chart with its data table. `data-state` carries the same for tests.
 */
export class Panel {
  /** Disposes a chart; set once the charting chunk is loaded (before that no chart exists to dispose). */
  private static clearChart: (element: HTMLElement) => void = () => {};

  static useChartClearer(clear: (element: HTMLElement) => void): void {
    Panel.clearChart = clear;
  }

  readonly root: HTMLElement;
  readonly tools: HTMLElement;
  readonly chart: HTMLElement;
  private readonly subtitle: HTMLElement;
  private readonly message: HTMLElement;
  private readonly table: HTMLElement;

  constructor(readonly id: string, title: string, options: { chart?: boolean; wide?: boolean } = {}) {
    this.root = element("section", `panel${options.wide ? " wide" : ""}`);
    this.root.id = id;
    this.root.setAttribute("aria-labelledby", `${id}-title`);
    const header = element("header", "panel-header");
    const heading = element("h2");
    heading.id = `${id}-title`;
    heading.textContent = title;
    this.subtitle = element("p", "panel-subtitle");
    this.tools = element("div", "panel-tools");
    const titles = element("div");
    titles.append(heading, this.subtitle);
    header.append(titles, this.tools);
    this.message = element("p", "panel-message");
    this.message.setAttribute("role", "status");
    this.chart = element("div", options.chart === false ? "panel-content" : "panel-chart");
    this.table = element("div", "sr-only");
    this.root.append(header, this.message, this.chart, this.table);
    this.loading();
  }

  get state(): PanelState {
    return this.root.dataset.state as PanelState;
  }

  setSubtitle(text: string): void {
    this.subtitle.textContent = text;
  }

  loading(): void {
    this.show("loading", "Loading…");
  }

  empty(text: string): void {
    Panel.clearChart(this.chart);
    this.chart.replaceChildren();
    this.show("empty", text);
  }

  failed(error: unknown): void {
    Panel.clearChart(this.chart);
    this.chart.replaceChildren();
    const text = error instanceof ApiError ? error.message : `The panel could not be drawn: ${String(error)}`;
    this.show("error", text);
    this.root.dataset.error = error instanceof ApiError ? error.kind : "client";
  }

  ready(table: DataTable): void {
    const caption = element("caption");
    caption.textContent = table.caption;
    const head = element("tr");
    for (const text of table.headers) head.append(cell("th", text));
    const body = table.rows.map((row) => {
      const tr = element("tr");
      for (const text of row) tr.append(cell("td", text));
      return tr;
    });
    const html = element("table");
    html.append(caption, element("thead"), element("tbody"));
    html.tHead!.append(head);
    html.tBodies[0]!.append(...body);
    this.table.replaceChildren(html);
    this.show("ready", "");
  }

  private show(state: PanelState, text: string): void {
    this.root.dataset.state = state;
    delete this.root.dataset.error;
    this.message.textContent = text;
    this.message.hidden = text === "";
    this.chart.hidden = state !== "ready" && state !== "loading";
    if (state !== "ready") this.table.replaceChildren();
  }
}

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

function cell(tag: "th" | "td", text: string): HTMLElement {
  const node = element(tag);
  node.textContent = text;
  return node;
}
