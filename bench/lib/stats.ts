/** Small statistics: medians, percentiles, spreads and interleaved rounds. */

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Linear-interpolated percentile (p in 0–100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** Per-round ratios a[i] / b[i] (both measured in round i). */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((value, i) => value / b[i]!);
}

/**
 * Runs `rounds` rounds; in each, every contender once in the given order (A, B, C, A, B, C, …).
 * Returns each contender's value per round.
 */
export async function interleave<K extends string>(rounds: number, order: readonly K[], measure: (name: K, round: number) => Promise<number>): Promise<Record<K, number[]>> {
  const results = Object.fromEntries(order.map((name) => [name, [] as number[]])) as unknown as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of order) results[name].push(await measure(name, round));
  }
  return results;
}

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "1.45× (1.40–1.52)" */
export function fmtRatio(s: Spread): string {
  return `${fmt(s.median, 2)}× (${fmt(s.min, 2)}–${fmt(s.max, 2)})`;
}

/** Milliseconds: two decimals below 100 ms, none above. */
export function fmtMs(value: number): string {
  return fmt(value, Math.abs(value) >= 100 ? 0 : 2);
}

/** "52.1 (50.3–54.0)" */
export function fmtSpread(s: Spread, digits = 1): string {
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}
