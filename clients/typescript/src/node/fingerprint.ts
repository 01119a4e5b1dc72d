/**
 * `@leasehold/client/fingerprint`: a stable id of this machine for `acquire({ fingerprint })`.
 * It starts from the OS's own machine id (systemd's machine-id, Windows' MachineGuid, macOS's
 * IOPlatformUUID, BSD's hostid) and hashes it with your app's id, as systemd advises for
 * application-specific ids: the result is stable per machine and app, and tells nobody the
 * machine's id or links it across vendors. Node built-ins only (Bun and Deno provide them).
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { LeaseholdError } from '../errors.ts';

export interface FingerprintOptions {
  /** Your application's id (reverse-DNS, say): the same machine gets another fingerprint in another app. */
  appId: string;
  /**
   * The machine id to use instead of the OS's. Containers often share one image's machine-id (or
   * have none): give each its own, here or in the LEASEHOLD_MACHINE_ID environment variable.
   */
  machineId?: string;
}

/** 64 hex characters: HMAC-SHA256 keyed with the machine id, over the app id. */
export async function machineFingerprint(options: FingerprintOptions): Promise<string> {
  if (!options?.appId) throw new TypeError('machineFingerprint: `appId` is required');
  const machineId = (options.machineId ?? process.env.LEASEHOLD_MACHINE_ID ?? (await osMachineId())).trim().toLowerCase();
  if (!machineId) throw unavailable('an empty machine id was given');
  return createHmac('sha256', machineId).update(options.appId).digest('hex');
}

/** The OS's machine id as the OS keeps it. */
async function osMachineId(): Promise<string> {
  const run = promisify(execFile);
  switch (process.platform) {
    case 'win32': {
      // The 64-bit registry view: a 32-bit process would otherwise read a redirected key.
      const { stdout } = await run('reg', ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid', '/reg:64']).catch(
        (error: unknown) => Promise.reject(unavailable('the registry has no MachineGuid', error)),
      );
      return match(stdout, /MachineGuid\s+REG_SZ\s+(\S+)/, 'MachineGuid');
    }
    case 'darwin': {
      const { stdout } = await run('ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice']).catch((error: unknown) =>
        Promise.reject(unavailable('ioreg could not be run', error)),
      );
      return match(stdout, /"IOPlatformUUID"\s*=\s*"([^"]+)"/, 'IOPlatformUUID');
    }
    default:
      // Linux (systemd, or D-Bus's copy without systemd), then the BSDs.
      for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id', '/etc/hostid']) {
        const id = await readFile(path, 'utf8').then(
          (text) => text.trim(),
          () => '',
        );
        if (id) return id;
      }
      throw unavailable('none of /etc/machine-id, /var/lib/dbus/machine-id or /etc/hostid holds one');
  }
}

function match(output: string, pattern: RegExp, name: string): string {
  const id = pattern.exec(output)?.[1];
  if (!id) throw unavailable(`no ${name} was found`);
  return id;
}

function unavailable(why: string, cause?: unknown) {
  return new LeaseholdError('MACHINE_ID_UNAVAILABLE', `No machine id: ${why}. Set LEASEHOLD_MACHINE_ID (or pass machineId) to one per machine.`, {
    cause,
  });
}
