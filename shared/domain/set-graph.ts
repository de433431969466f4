/**
 * Pool membership as a change set sees it: which backends exist and which pools list which members now (read from
 * ARM), and which members each pool will list once the set is applied. Pure: values in, values out.
 *
 * Backends are compared by their lower-cased ARM id (ARM ids are case-insensitive), called a key here.
 */
import { backendResourceId, parseResourceId, scopeResourceId, type BackendScope } from './backend-id';
import type { BackendTarget } from './backend-id';
import type { ChangeRequest } from './contract/change-request';
import { isRecord } from './is-record';

/** A backend's key: its ARM id in lower case. */
export function backendKey(target: BackendTarget): string {
  return backendResourceId(target).toLowerCase();
}

/** A service's or workspace's key: its ARM id in lower case. */
export function scopeKey(scope: BackendScope): string {
  return scopeResourceId(scope).toLowerCase();
}

/**
 * The key of a pool member id as written in a pool: a full backend ARM id, or one relative to the pool's own
 * service or workspace (`/backends/x`, as ARM templates write it). Undefined for anything else.
 */
export function memberKey(pool: BackendScope, id: string): string | undefined {
  const relative = /^\/?backends\/([^/]+)\/?$/i.exec(id.trim());
  if (relative?.[1] !== undefined) return backendKey({ ...scopeOf(pool), backendId: relative[1] });
  const parsed = parseResourceId(id);
  return parsed?.kind === 'backend' ? backendKey(parsed.target) : undefined;
}

function scopeOf(scope: BackendScope): BackendScope {
  const { subscriptionId, resourceGroupName, serviceName, workspaceId } = scope;
  return workspaceId === undefined
    ? { subscriptionId, resourceGroupName, serviceName }
    : { subscriptionId, resourceGroupName, serviceName, workspaceId };
}

/** A backend as read from ARM: whether it is a pool, and its members' keys. */
export interface CurrentBackend {
  isPool: boolean;
  members: string[];
}

/** What ARM holds in the scopes a set touches: every backend of each scope that was read. */
export interface CurrentState {
  /** Keys of the scopes that were listed; a backend outside them is unknown, not absent. */
  scopes: ReadonlySet<string>;
  backends: ReadonlyMap<string, CurrentBackend>;
}

/** Builds the current state from the listed backends of each scope (the `value` of a list call). */
export function currentState(lists: ReadonlyArray<{ scope: BackendScope; items: readonly unknown[] }>): CurrentState {
  const scopes = new Set<string>();
  const backends = new Map<string, CurrentBackend>();
  for (const { scope, items } of lists) {
    scopes.add(scopeKey(scope));
    for (const item of items) {
      if (!isRecord(item)) continue;
      const name = typeof item.name === 'string' ? item.name : undefined;
      const id = typeof item.id === 'string' ? memberKey(scope, item.id) : undefined;
      const key = id ?? (name === undefined ? undefined : backendKey({ ...scope, backendId: name }));
      if (key === undefined) continue;
      const properties = isRecord(item.properties) ? item.properties : {};
      backends.set(key, { isPool: isPoolType(properties.type), members: poolMembers(scope, properties) ?? [] });
    }
  }
  return { scopes, backends };
}

function isPoolType(type: unknown): boolean {
  return typeof type === 'string' && type.toLowerCase() === 'pool';
}

/** The member keys of a `properties` object's pool, or undefined when it names no pool services. */
function poolMembers(scope: BackendScope, properties: Record<string, unknown>): string[] | undefined {
  const pool = properties.pool;
  const services = isRecord(pool) ? pool.services : undefined;
  if (!Array.isArray(services)) return undefined;
  const keys: string[] = [];
  for (const service of services) {
    const key = isRecord(service) && typeof service.id === 'string' ? memberKey(scope, service.id) : undefined;
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

function propertiesOf(change: ChangeRequest): Record<string, unknown> | undefined {
  const body: unknown = change.body;
  return isRecord(body) && isRecord(body.properties) ? body.properties : undefined;
}

/** The members a change's body lists (createOrUpdate or update with `pool.services`), else undefined. */
export function listedMembers(change: ChangeRequest): string[] | undefined {
  if (change.operation !== 'createOrUpdate' && change.operation !== 'update') return undefined;
  const properties = propertiesOf(change);
  return properties === undefined ? undefined : poolMembers(change.target, properties);
}

/** The raw member ids a change's body lists, by position (for error paths). */
export function listedMemberIds(change: ChangeRequest): Array<string | undefined> {
  if (change.operation !== 'createOrUpdate' && change.operation !== 'update') return [];
  const pool = propertiesOf(change)?.pool;
  const services = isRecord(pool) ? pool.services : undefined;
  if (!Array.isArray(services)) return [];
  return services.map((s: unknown) => (isRecord(s) && typeof s.id === 'string' ? s.id : undefined));
}

/** Whether the backend is a pool once the change is applied (current: what ARM holds now). */
export function isPoolAfter(change: ChangeRequest | undefined, current: CurrentBackend | undefined): boolean {
  if (change === undefined || change.operation === 'reconnect') return current?.isPool ?? false;
  if (change.operation === 'delete') return false;
  const type = propertiesOf(change)?.type;
  if (change.operation === 'createOrUpdate') return isPoolType(type);
  return type === undefined ? (current?.isPool ?? false) : isPoolType(type);
}

/**
 * The members a backend lists once its change (if any) is applied: a deleted backend lists none; a PUT replaces
 * the list (none when it has no pool); a PATCH with `pool.services` replaces it, without it keeps the current one.
 */
export function membersAfter(change: ChangeRequest | undefined, current: CurrentBackend | undefined): string[] {
  const now = current?.members ?? [];
  if (change === undefined || change.operation === 'reconnect') return now;
  if (change.operation === 'delete') return [];
  const listed = listedMembers(change);
  if (change.operation === 'createOrUpdate') return listed ?? [];
  return listed ?? now;
}
