/** machineFingerprint: the OS's machine id hashed with the app id; an override for containers. */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { machineFingerprint } from '@leasehold/client/fingerprint';
import { afterEach, describe, expect, it } from 'vitest';

const machineId = (await readFile('/etc/machine-id', 'utf8')).trim();

describe('machineFingerprint', () => {
  afterEach(() => {
    delete process.env.LEASEHOLD_MACHINE_ID;
  });

  it("is HMAC-SHA256 keyed by the OS's machine id over the app id: stable, and not the machine id", async () => {
    const fingerprint = await machineFingerprint({ appId: 'com.example.editor' });
    expect(fingerprint).toBe(createHmac('sha256', machineId).update('com.example.editor').digest('hex'));
    expect(await machineFingerprint({ appId: 'com.example.editor' })).toBe(fingerprint);
    expect(fingerprint).not.toContain(machineId);
  });

  it('differs from app to app on the same machine', async () => {
    expect(await machineFingerprint({ appId: 'com.example.editor' })).not.toBe(await machineFingerprint({ appId: 'com.example.viewer' }));
  });

  it('takes the machine id from LEASEHOLD_MACHINE_ID or the machineId option instead, for containers', async () => {
    const expected = createHmac('sha256', 'container-7').update('app').digest('hex');
    expect(await machineFingerprint({ appId: 'app', machineId: 'container-7' })).toBe(expected);
    process.env.LEASEHOLD_MACHINE_ID = 'container-7';
    expect(await machineFingerprint({ appId: 'app' })).toBe(expected);
  });

  it('refuses an empty machine id with MACHINE_ID_UNAVAILABLE, and a missing app id', async () => {
    await expect(machineFingerprint({ appId: 'app', machineId: '  ' })).rejects.toMatchObject({ code: 'MACHINE_ID_UNAVAILABLE' });
    await expect(machineFingerprint({ appId: '' })).rejects.toThrow(/appId/);
  });
});
