/** Who is signed in and what they may do: the console shows only the actions the credential's scopes allow. */
import { createContext, useContext, type ReactNode } from 'react';
import type { ResultOf } from './graphql.ts';
import { graphql } from './graphql.ts';

export const VIEWER = graphql(`
  query Viewer {
    viewer {
      kind
      role
      scopes
      organizationId
      userId
      apiKeyId
    }
  }
`);

export type Viewer = ResultOf<typeof VIEWER>['viewer'];

const ViewerContext = createContext<Viewer | null>(null);

export const ViewerProvider = ({ viewer, children }: { viewer: Viewer; children: ReactNode }) => (
  <ViewerContext.Provider value={viewer}>{children}</ViewerContext.Provider>
);

export function useViewer(): Viewer {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error('useViewer outside ViewerProvider');
  return viewer;
}

/** Whether the signed-in credential holds a scope, e.g. `licenses:write`. */
export function useCan(scope: string): boolean {
  return useViewer().scopes.includes(scope);
}

/** Renders its children only for a credential that holds the scope. */
export function Can({ scope, children }: { scope: string; children: ReactNode }) {
  return useCan(scope) ? <>{children}</> : null;
}
