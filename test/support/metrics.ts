/** Reads a Prometheus text exposition: one sample's value by name and labels, or every sample of a name. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export function samples(text: string, name: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    found.push({ labels, value: Number(match[4]) });
  }
  return found;
}

/** The value of the sample with exactly these labels (0 when there is none yet: a counter not yet moved). */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels);
  const sample = samples(text, name).find((s) => Object.keys(s.labels).length === want.length && want.every(([k, v]) => s.labels[k] === v));
  return sample?.value ?? 0;
}
