import type { BackendScope, BackendTarget } from '../../shared/domain/backend-id';

/** What a request path names. */
export type Route =
  | { kind: 'collection'; scope: BackendScope }
  | { kind: 'backend'; target: BackendTarget }
  | { kind: 'reconnect'; target: BackendTarget }
  | { kind: 'unknown' };

/**
 * Splits a raw URL path into percent-decoded segments (the empty leading one dropped, a trailing slash ignored).
 * Returns undefined when a segment is not valid percent-encoding.
 */
export function decodeSegments(rawPath: string): string[] | undefined {
  const raw = rawPath.split('/').slice(1);
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  try {
    return raw.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

const eq = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * Matches decoded segments against the API Management backend paths, keywords case-insensitive as in ARM:
 * `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/service/{svc}` followed by
 * `backends[/{id}[/reconnect]]` or `workspaces/{ws}/backends[/{id}]` (the workspace scope has no reconnect).
 */
export function matchRoute(segments: string[]): Route {
  const [s0, subscriptionId, s2, resourceGroupName, s4, s5, s6, serviceName, ...rest] = segments;
  if (
    !eq(s0, 'subscriptions') ||
    !eq(s2, 'resourceGroups') ||
    !eq(s4, 'providers') ||
    !eq(s5, 'Microsoft.ApiManagement') ||
    !eq(s6, 'service') ||
    subscriptionId === undefined ||
    resourceGroupName === undefined ||
    serviceName === undefined
  ) {
    return { kind: 'unknown' };
  }
  let scope: BackendScope = { subscriptionId, resourceGroupName, serviceName };
  let tail = rest;
  if (eq(tail[0], 'workspaces')) {
    const workspaceId = tail[1];
    if (workspaceId === undefined) return { kind: 'unknown' };
    scope = { ...scope, workspaceId };
    tail = tail.slice(2);
  }
  if (!eq(tail[0], 'backends')) return { kind: 'unknown' };
  const backendId = tail[1];
  if (backendId === undefined) return { kind: 'collection', scope };
  const target: BackendTarget = { ...scope, backendId };
  if (tail.length === 2) return { kind: 'backend', target };
  if (tail.length === 3 && eq(tail[2], 'reconnect') && scope.workspaceId === undefined) {
    return { kind: 'reconnect', target };
  }
  return { kind: 'unknown' };
}
