/** An independent verifier: `openssl dgst` checks a compact JWS knowing nothing of JOSE or our code. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** openssl wants the ECDSA signature as DER, the form KMS returned before we converted it. */
export function rawToDer(raw: Uint8Array): Buffer {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const body = bytes[i]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes.subarray(i)]) : Buffer.from(bytes.subarray(i));
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** Verifies a compact JWS with the openssl command line, which knows nothing of JOSE or of our code. */
export async function opensslVerifies(token: string, pem: string, algorithm: string): Promise<boolean> {
  const [header, payload, signature] = token.split('.');
  const dir = await mkdtemp(join(tmpdir(), 'leasehold-openssl-'));
  let sig: Uint8Array = Buffer.from(signature!, 'base64url');
  if (algorithm === 'ES256') sig = rawToDer(sig);
  await writeFile(join(dir, 'pub.pem'), pem);
  await writeFile(join(dir, 'input.txt'), `${header}.${payload}`);
  await writeFile(join(dir, 'sig.bin'), sig);
  try {
    if (algorithm === 'EdDSA') {
      // Ed25519 signs the message itself, not a digest: pkeyutl with -rawin.
      const args = ['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', 'input.txt', '-sigfile', 'sig.bin'];
      const { stdout } = await run('openssl', args, { cwd: dir });
      return stdout.trim() === 'Signature Verified Successfully';
    }
    const { stdout } = await run('openssl', ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'sig.bin', 'input.txt'], { cwd: dir });
    return stdout.trim() === 'Verified OK';
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
