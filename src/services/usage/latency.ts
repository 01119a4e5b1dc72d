/**
 * Latency is kept as a histogram, not a sample: bucket i holds requests that took up to
 * 1.05^i ms. Histograms from many instances add up exactly (HINCRBY), their size is bounded
 * (~230 buckets up to 1 min, far fewer in practice), and a percentile read from them is the
 * upper bound of its bucket: at most 5 % above the true value. A sample would need a script to
 * merge fairly across instances and would still only estimate.
 */
const GROWTH = 1.05;
const MAX_BUCKET = 400;

export function latencyBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(MAX_BUCKET, Math.ceil(Math.log(ms) / Math.log(GROWTH)));
}

/** The upper bound of the bucket holding the q-quantile, in whole ms; null without data. */
export function latencyQuantile(histogram: Map<number, number>, q: number): number | null {
  let total = 0;
  for (const count of histogram.values()) total += count;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket)!;
    if (seen >= rank) return Math.max(1, Math.round(GROWTH ** bucket));
  }
  return null;
}
