const integer = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const formatCount = (value: number): string => integer.format(value);
export const formatCompact = (value: number): string => compact.format(value);
/** A ratio as a percentage; null (nothing to divide) shows as a dash, never as 0%. */
export const formatPercent = (ratio: number | null, digits = 1): string =>
  ratio === null ? "—" : `${(ratio * 100).toFixed(digits)}%`;

export function formatMoney(value: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency, maximumFractionDigits: 2 }).format(value);
  } catch {
    // A currency code Intl does not know still shows, with the code in front.
    return `${currency} ${value.toFixed(2)}`;
  }
}

export function periodLabel(period: string): string {
  return `last ${period.replace(/d$/, "")} days`;
}
