/** The SDK's GraphQL documents: valid against the reviewed schema, and hashed as the server will look them up. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

const operations = new URL('../operations/', import.meta.url);
const files = (await readdir(operations)).filter((file) => file.endsWith('.graphql'));
const schema = buildSchema(await readFile(new URL('../../../schema.graphql', import.meta.url), 'utf8'));
const manifest = createRequire(import.meta.url)('@leasehold/client/persisted-operations.json') as Record<string, string>;

describe.each(files)('operations/%s', (file) => {
  it('is valid against schema.graphql', async () => {
    const document = await readFile(new URL(file, operations), 'utf8');
    expect(validate(schema, parse(document)).map((error) => error.message)).toEqual([]);
  });

  it('is in the persisted-operations manifest under the SHA-256 of its text', async () => {
    const document = (await readFile(new URL(file, operations), 'utf8')).trim();
    expect(manifest[createHash('sha256').update(document).digest('hex')]).toBe(document);
  });
});

it('the manifest holds the documents of operations/ and nothing else', () => {
  expect(Object.keys(manifest)).toHaveLength(files.length);
});
