/** Relay-style connections: one PageInfo type and a helper to declare `<Node>Connection` types. */
import type { ObjectRef } from '@pothos/core';
import { InvalidInput } from '../services/errors.ts';
import { builder, type BuilderTypes } from './builder.ts';

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const PageInfoType = builder.objectRef<Page<unknown>['pageInfo']>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

export function connectionType<T extends object>(nodeName: string, nodeType: ObjectRef<BuilderTypes, T>) {
  const edge = builder.objectRef<{ cursor: string; node: T }>(`${nodeName}Edge`).implement({
    fields: (t) => ({
      cursor: t.exposeString('cursor'),
      // Pothos cannot relate a generic T to its conditional resolver type; nodeType holds T.
      node: t.field({ type: nodeType, resolve: (e) => e.node as never }),
    }),
  });
  return builder.objectRef<Page<T>>(`${nodeName}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [edge], resolve: (c) => c.edges }),
      pageInfo: t.field({ type: PageInfoType, resolve: (c) => c.pageInfo }),
    }),
  });
}

/** Builds a page from rows fetched with one extra (to know whether another page follows). */
export function toPage<T>(page: { rows: T[]; hasNextPage: boolean }, cursorOf: (row: T) => string): Page<T> {
  const edges = page.rows.map((node) => ({ cursor: cursorOf(node), node }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

/** A page's size: `first` when it is 1 to MAX_PAGE, DEFAULT_PAGE when absent; anything else is refused, not clamped. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE;
  if (first < 1 || first > MAX_PAGE) throw new InvalidInput(`first must be from 1 to ${MAX_PAGE}, got ${first}.`, 'first');
  return first;
}
