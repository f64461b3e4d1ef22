import type { AlertView, AlertsResponse } from "../contracts";
import { element, type Panel } from "../panel";

/** Firing alerts first; the rest are counted so "nothing here" never hides "nothing configured". */
export function renderAlerts(panel: Panel, response: AlertsResponse): void {
  const firing = response.alerts.filter((alert) => alert.state === "Firing");
  const unknown = response.alerts.filter((alert) => alert.state === "Unknown");
  const ok = response.alerts.length - firing.length - unknown.length;
  panel.setSubtitle(`${response.alerts.length} UsageAlert${response.alerts.length === 1 ? "" : "s"}: ${firing.length} firing, ${ok} ok, ${unknown.length} unknown`);
  if (response.alerts.length === 0) {
    panel.empty("No UsageAlert is configured: apply one with kubectl (or --resources) to be warned here and by webhook.");
    return;
  }
  if (firing.length === 0) {
    panel.chart.replaceChildren(note(unknown.length > 0
      ? `Nothing is firing; ${unknown.length} could not be evaluated: ${unknown.map(describeUnknown).join("; ")}`
      : "Nothing is firing: every alert is within its threshold."));
  } else {
    panel.chart.replaceChildren(table(firing));
  }
  panel.ready({
    caption: "Firing alerts",
    headers: ["Alert", "Metric", "Current", "Threshold", "Window", "Severity", "Groups"],
    rows: firing.map((alert) => [`${alert.namespace}/${alert.name}`, alert.metric, alert.currentValue ?? "",
      alert.threshold, alert.window, alert.severity, alert.firingGroups.join(", ")]),
  });
}

function table(alerts: AlertView[]): HTMLTableElement {
  const html = element("table", "alerts");
  const head = html.createTHead().insertRow();
  for (const text of ["Alert", "Metric", "Current / threshold", "Window", "Severity", "Firing for", "Since"]) {
    const th = element("th");
    th.textContent = text;
    head.append(th);
  }
  const body = html.createTBody();
  for (const alert of alerts) {
    const row = body.insertRow();
    row.className = `severity-${alert.severity}`;
    for (const text of [`${alert.namespace}/${alert.name}`, alert.metric,
      `${alert.currentValue ?? "?"} / ${alert.threshold}`, alert.window, alert.severity,
      firingFor(alert.firingGroups),
      alert.lastFiredTime ? alert.lastFiredTime.replace("T", " ").slice(0, 16) + " UTC" : ""]) {
      row.insertCell().textContent = text;
    }
  }
  return html;
}

/** A few groups by name, the rest counted: an alert grouped by agent can fire for dozens. */
function firingFor(groups: string[]): string {
  if (groups.length === 0) return "all";
  const shown = groups.slice(0, 4).join(", ");
  return groups.length > 4 ? `${shown} and ${groups.length - 4} more` : shown;
}

function note(text: string): HTMLElement {
  const paragraph = element("p", "panel-note");
  paragraph.textContent = text;
  return paragraph;
}

function describeUnknown(alert: AlertView): string {
  return `${alert.namespace}/${alert.name}${alert.error ? ` (${alert.error})` : ""}`;
}
