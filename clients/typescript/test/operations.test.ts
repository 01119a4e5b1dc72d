/**
 * The SDK's GraphQL documents as it sends them (each operation of operations/ with the fragments
 * of operations/fragments/ it spreads): valid against the reviewed schema, and hashed as the
 * server will look them up.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import * as generated from '../src/generated/operations.ts';

const files = (await readdir(new URL('../operations/', import.meta.url))).filter((file) => file.endsWith('.graphql'));
const schema = buildSchema(await readFile(new URL('../../../schema.graphql', import.meta.url), 'utf8'));
const manifest = createRequire(import.meta.url)('@leasehold/client/persisted-operations.json') as Record<string, string>;
const sent = new Map(Object.values(generated).map((operation) => [operation.name, operation]));

describe.each(files)('operations/%s', (file) => {
  const operation = sent.get(file.slice(0, -'.graphql'.length));

  it('is sent as one document, valid against schema.graphql', () => {
    expect(operation).toBeDefined();
    expect(validate(schema, parse(operation!.document)).map((error) => error.message)).toEqual([]);
  });

  it('is in the persisted-operations manifest under the SHA-256 of the document sent', () => {
    expect(operation!.hash).toBe(createHash('sha256').update(operation!.document).digest('hex'));
    expect(manifest[operation!.hash]).toBe(operation!.document);
  });
});

it('the manifest holds the documents of operations/ and nothing else', () => {
  expect(Object.keys(manifest)).toHaveLength(files.length);
  expect(sent.size).toBe(files.length);
});
