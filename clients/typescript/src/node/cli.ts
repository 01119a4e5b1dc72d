#!/usr/bin/env node
/**
 * `leasehold-seat`: holds a floating seat while a command runs, the way build agents and render
 * farms use floating licenses, and releases it when the command exits.
 *
 *   leasehold-seat run [options] -- <command> [args…]
 *   leasehold-seat fingerprint [--app-id ID]
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { Leasehold } from '../client.ts';
import { LeaseholdError } from '../errors.ts';
import type { JwksSource } from '../verify.ts';
import { machineFingerprint } from './fingerprint.ts';

const USAGE = `Usage:
  leasehold-seat run [options] -- <command> [args…]   hold a seat while <command> runs
  leasehold-seat fingerprint [--app-id ID]             print this machine's fingerprint

Options (each also read from the environment variable named after it):
  --url URL            LEASEHOLD_URL          the license server, e.g. https://licenses.example.com
  --license-key KEY    LEASEHOLD_LICENSE_KEY  prefer the variable: arguments are visible to other users
  --fingerprint FP     LEASEHOLD_FINGERPRINT  default: this machine's, for --app-id
  --app-id ID          LEASEHOLD_APP_ID       default: leasehold-seat
  --jwks URL|FILE      LEASEHOLD_JWKS         pinned key set (a JSON file) or its URL; default the server's
  --on-lost kill|keep  LEASEHOLD_ON_LOST      when the seat is lost: stop the command (default) or let it run

Exit status: the command's; 75 when no seat could be had or it was lost; 64 for a usage error.`;

const EXIT_USAGE = 64;
const EXIT_NO_SEAT = 75;

const say = (message: string) => process.stderr.write(`leasehold-seat: ${message}\n`);

async function main(argv: string[]): Promise<number> {
  const separator = argv.indexOf('--');
  const own = separator === -1 ? argv : argv.slice(0, separator);
  const command = separator === -1 ? [] : argv.slice(separator + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        'license-key': { type: 'string' },
        fingerprint: { type: 'string' },
        'app-id': { type: 'string' },
        jwks: { type: 'string' },
        'on-lost': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    say((error as Error).message);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  const env = process.env;
  const option = (name: keyof typeof values & string, variable: string) => (values[name] as string | undefined) ?? env[variable];
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const appId = option('app-id', 'LEASEHOLD_APP_ID') ?? 'leasehold-seat';
  const fingerprint = async () => option('fingerprint', 'LEASEHOLD_FINGERPRINT') ?? (await machineFingerprint({ appId }));

  if (positionals[0] === 'fingerprint' && positionals.length === 1) {
    process.stdout.write(`${await fingerprint()}\n`);
    return 0;
  }
  if (positionals[0] !== 'run' || positionals.length !== 1 || command.length === 0) {
    say(`expected \`run -- <command>\` or \`fingerprint\`\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const url = option('url', 'LEASEHOLD_URL');
  const licenseKey = option('license-key', 'LEASEHOLD_LICENSE_KEY');
  const onLost = option('on-lost', 'LEASEHOLD_ON_LOST') ?? 'kill';
  if (!url || !licenseKey || (onLost !== 'kill' && onLost !== 'keep')) {
    say(!url ? 'no server: set LEASEHOLD_URL or --url' : !licenseKey ? 'no license key: set LEASEHOLD_LICENSE_KEY' : '--on-lost is kill or keep');
    return EXIT_USAGE;
  }
  const jwksOption = option('jwks', 'LEASEHOLD_JWKS');
  const jwks: JwksSource | undefined =
    jwksOption === undefined ? undefined : /^https?:/.test(jwksOption) ? jwksOption : JSON.parse(await readFile(jwksOption, 'utf8'));

  const lh = new Leasehold({ url, licenseKey, ...(jwks ? { jwks } : {}) });
  let seat;
  try {
    seat = await lh.acquire({ fingerprint: await fingerprint(), clientInfo: { agent: 'leasehold-seat', command: basename(command[0]!) } });
  } catch (error) {
    if (!(error instanceof LeaseholdError)) throw error;
    say(`no seat (${error.code}): ${error.message}`);
    return EXIT_NO_SEAT;
  }

  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit' });
  let lost = false;
  seat.on('offline', ({ error, until }) => say(`license server unreachable (${error.code}); the seat holds until ${until.toISOString()}`));
  seat.on('renewed', ({ reacquired }) => reacquired && say('seat acquired again'));
  seat.on('lost', ({ error }) => {
    say(`seat lost (${error.code}): ${error.message}${onLost === 'kill' ? '; stopping the command' : ''}`);
    if (onLost === 'kill') {
      lost = true;
      child.kill('SIGTERM');
    }
  });
  // The command gets the signals the seat holder gets; the seat is released once it has exited.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);

  const status = await new Promise<number>((resolve) => {
    child.once('error', (error) => {
      say(`could not run ${command[0]}: ${error.message}`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  });
  await seat.release();
  return lost ? EXIT_NO_SEAT : status;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    say(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
