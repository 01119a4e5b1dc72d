/** What every scenario script shares: its settings from the environment, and one JSON line per report. */
export const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`scenario: ${name} is not set`);
  return value;
};

export function report(type: string, data: Record<string, unknown> = {}) {
  console.log(JSON.stringify({ type, at: Date.now(), ...data }));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
