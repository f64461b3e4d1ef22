// JSON shapes of the aggregator's analytics API (docs/contracts.md). Only what the dashboard reads.

/** Ratios and latencies are null where there were no calls to compute them from. */
export interface UsageFigures {
  calls: number;
  successes: number;
  failures: number;
  errorRate: number | null;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
  inputTokens: number;
  outputTokens: number;
}

export interface UsageResponse {
  from: string;
  to: string;
  groupBy: string;
  totals: UsageFigures;
  groups: Array<UsageFigures & { key: string }>;
  series: Array<{ date: string; calls: number; failures: number }>;
}

export interface CostCurrency {
  currency: string;
  total: number;
  /** Groups with cost in the period; `groups` holds at most `limit` (default 100) of them. */
  groupCount?: number;
  groups: Array<{ key: string; cost: number; share: number; calls: number; inputTokens: number; outputTokens: number }>;
  series: Array<{ date: string; cost: number; byGroup: Record<string, number> }>;
}

export interface CostsResponse {
  from: string;
  to: string;
  groupBy: string;
  currencies: CostCurrency[];
  unpriced: {
    calls: number;
    inputTokens: number;
    outputTokens: number;
    models: Array<{ model: string; calls: number; inputTokens: number; outputTokens: number }>;
  };
}

export interface HeatmapResponse {
  from: string;
  to: string;
  tools: string[];
  /** dayOfWeek is ISO (1 = Monday … 7 = Sunday); hour is UTC. */
  cells: Array<{ tool: string; dayOfWeek: number; hour: number; calls: number }>;
}

export interface ErrorsResponse {
  from: string;
  to: string;
  days: Array<{
    date: string;
    toolCalls: number;
    toolFailures: number;
    toolFailureRate: number | null;
    webhookDeliveries: number;
    webhookFailures: number;
    webhookFailureRate: number | null;
  }>;
  byTool: Array<{ tool: string; calls: number; failures: number; failureRate: number | null }>;
}

export type BreakerState = "closed" | "open" | "half_open";

export interface HealthResponse {
  from: string;
  to: string;
  servers: Array<{
    server: string;
    uptimePercent: number;
    currentState: BreakerState;
    intervals: Array<{ state: BreakerState; from: string; to: string }>;
  }>;
}

export interface AlertView {
  namespace: string;
  name: string;
  metric: string;
  threshold: string;
  window: string;
  severity: string;
  state: "Ok" | "Firing" | "Unknown";
  currentValue: string | null;
  lastEvaluationTime: string | null;
  lastFiredTime: string | null;
  firingGroups: string[];
  error: string | null;
}

export interface AlertsResponse {
  alerts: AlertView[];
}

export interface BudgetView {
  namespace: string;
  name: string;
  amount: string;
  currency: string;
  period: string;
  filter: { tenantId?: string } | null;
  spent: string | null;
  projected: string | null;
  percentUsed: string | null;
  projectedExhaustion: string;
  state: "UnderBudget" | "Warning" | "ProjectedOverrun" | "Exceeded" | null;
  error: string | null;
}

export interface BudgetsResponse {
  budgets: BudgetView[];
}
