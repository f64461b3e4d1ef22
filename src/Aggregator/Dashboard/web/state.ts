// The controls live in the URL query so that a link shows exactly what its sender saw.

export const periods = ["7d", "30d", "90d"] as const;
export const groupings = ["agent", "tenant", "user", "server", "tool", "model"] as const;
/** The groupings of the chargeback report; a view grouped otherwise downloads per tenant. */
export const chargebackGroupings = ["tenant", "agent", "user", "model"] as const;

export interface ViewState {
  period: string;
  tenant: string;
  groupBy: string;
  tool: string;
}

const defaults: ViewState = { period: "7d", tenant: "", groupBy: "agent", tool: "" };

export function readState(): ViewState {
  const query = new URLSearchParams(window.location.search);
  const period = query.get("period") ?? defaults.period;
  const groupBy = query.get("group_by") ?? defaults.groupBy;
  return {
    // Any "<N>d" is passed on: the API validates it and its 400 message is shown if it is wrong.
    period: /^\d+d$/.test(period) ? period : defaults.period,
    groupBy: (groupings as readonly string[]).includes(groupBy) ? groupBy : defaults.groupBy,
    tenant: query.get("tenant") ?? defaults.tenant,
    tool: query.get("tool") ?? defaults.tool,
  };
}

export function writeState(state: ViewState): void {
  const query = new URLSearchParams();
  if (state.period !== defaults.period) query.set("period", state.period);
  if (state.tenant !== defaults.tenant) query.set("tenant", state.tenant);
  if (state.groupBy !== defaults.groupBy) query.set("group_by", state.groupBy);
  if (state.tool !== defaults.tool) query.set("tool", state.tool);
  const search = query.toString();
  history.pushState(null, "", search ? `?${search}` : window.location.pathname);
}
