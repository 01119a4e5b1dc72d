/** The verification log as the API shows it: a license's checks and refused seat operations, a page at a time. */
import type { LicenseVerificationRow } from '../db/rows.ts';
import { builder } from './builder.ts';
import { connectionType } from './connection.ts';

const LicenseVerificationType = builder.objectRef<LicenseVerificationRow>('LicenseVerification').implement({
  description: 'A validateLicense of the license, or a seat operation of it that was refused.',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    operation: t.exposeString('operation', { description: 'validateLicense, or the seat operation: acquire, heartbeat, release, …' }),
    result: t.exposeString('result', {
      description: 'The validation code, or the code the operation was refused with (a ValidationCode value).',
    }),
    address: t.exposeString('address', { nullable: true, description: "The caller's address (trusted proxies resolved)." }),
    origin: t.exposeString('origin', { nullable: true, description: 'The Origin header, when a browser sent one.' }),
    fingerprint: t.exposeString('fingerprint', { nullable: true }),
  }),
});

export const LicenseVerificationConnectionType = connectionType('LicenseVerification', LicenseVerificationType);
