/**
 * Rules of a createOrUpdate or update body that need more than the body: the target (GET-answer fields, pool
 * members, which resolve against the pool's own scope) and the api-version (fields newer than it). Also the
 * treatment of `null`: absent in a createOrUpdate (ARM templates and GET answers write it so), refused in an update.
 * Every function reads raw input defensively: it runs even when other parts of the request failed.
 */
import type { z } from 'zod';
import { backendResourceId, sameScope, type BackendTarget } from '../backend-id';
import { fieldsNewerThan, type ApiVersion } from './api-versions';
import { parseMemberId, resolveMemberId } from './pool-member';
import { formatPath } from '../json-path';
import { isRecord } from '../is-record';

type Ctx = z.core.$RefinementCtx;

function addIssue(ctx: Ctx, path: PropertyKey[], code: string, message: string): void {
  ctx.addIssue({ code: 'custom', path, message, params: { code } });
}

/**
 * `value` without object keys whose value is null (array items are kept: a null item is no absence). Only the
 * objects and arrays that hold a null somewhere below are copied; the rest is returned as it is (callers only read
 * it, and the body schemas build their output afresh): a body without nulls, the usual case, costs one walk.
 */
export function withoutNulls(value: unknown): unknown {
  // A first walk that allocates nothing: most bodies hold no null, and then the body itself is the answer.
  return holdsNullProperty(value) ? copyWithoutNulls(value) : value;
}

/** Whether an object at or below `value` has an own enumerable property whose value is null. */
function holdsNullProperty(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (holdsNullProperty(value[i])) return true;
    return false;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    if (item === null || holdsNullProperty(item)) return true;
  }
  return false;
}

function copyWithoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const kept = copyWithoutNulls(item);
      if (kept !== item && copy === undefined) copy = value.slice(0, i);
      if (copy !== undefined) copy.push(kept);
    }
    return copy ?? value;
  }
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = value[key];
    const kept = item === null ? null : copyWithoutNulls(item);
    if (copy === undefined && (item === null || kept !== item)) {
      copy = {};
      for (let j = 0; j < i; j++) setOwn(copy, keys[j]!, value[keys[j]!]);
    }
    if (copy !== undefined && item !== null) setOwn(copy, key, kept);
  }
  return copy ?? value;
}

/** `out[key] = item` as an own property, also for `__proto__` (an assignment would set the prototype instead). */
function setOwn(out: Record<string, unknown>, key: string, item: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true });
  else out[key] = item;
}

const PATCH_NULL =
  'null is not accepted in an update (PATCH): ARM does not document what null does to a backend property there, ' +
  'so it may be ignored or clear the value. Leave the property out to keep it, or send the whole backend with ' +
  'createOrUpdate, where null means absent.';

/** Refuses every null-valued property of an update body, once each, at its own path. */
export function refuseNulls(value: unknown, path: PropertyKey[], ctx: Ctx): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => refuseNulls(item, [...path, i], ctx));
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, item] of Object.entries(value)) {
    if (item === null) addIssue(ctx, [...path, key], 'NullNotAllowed', PATCH_NULL);
    else refuseNulls(item, [...path, key], ctx);
  }
}

const BACKEND_TYPE = 'Microsoft.ApiManagement/service/backends';
const WORKSPACE_BACKEND_TYPE = 'Microsoft.ApiManagement/service/workspaces/backends';

/** Top-level `id`, `name`, `type` (a GET answer sent back) must describe the target itself. */
export function checkResponseFields(target: BackendTarget, body: unknown, ctx: Ctx): void {
  if (!isRecord(body)) return;
  const { id, name, type } = body;
  if (typeof id === 'string' && id.toLowerCase() !== backendResourceId(target).toLowerCase()) {
    addIssue(ctx, ['body', 'id'], 'TargetMismatch', "Must be the target backend's ARM id, or be left out.");
  }
  if (typeof name === 'string' && name.toLowerCase() !== target.backendId.toLowerCase()) {
    addIssue(ctx, ['body', 'name'], 'TargetMismatch', "Must be the target's backendId, or be left out.");
  }
  const expected = target.workspaceId === undefined ? BACKEND_TYPE : WORKSPACE_BACKEND_TYPE;
  if (typeof type === 'string' && type.toLowerCase() !== expected.toLowerCase()) {
    addIssue(ctx, ['body', 'type'], 'TargetMismatch', `Must be ${expected} for this target, or be left out.`);
  }
}

/**
 * Pool members, resolved against the pool's own service or workspace (`/backends/{id}` is relative to it): each must
 * be a backend of the same service and workspace, not the pool itself, and listed once. Without a valid target only
 * full ids can be compared, for repeats.
 */
export function checkPoolMembers(target: BackendTarget | undefined, body: unknown, ctx: Ctx): void {
  const properties = isRecord(body) ? body.properties : undefined;
  const pool = isRecord(properties) ? properties.pool : undefined;
  const services = isRecord(pool) ? pool.services : undefined;
  if (!Array.isArray(services)) return;
  const seen = new Map<string, number>();
  services.forEach((item: unknown, index) => {
    if (!isRecord(item) || typeof item.id !== 'string') return;
    const parsed = parseMemberId(item.id);
    if (!parsed.ok) return; // reported by the schema
    let member: BackendTarget | undefined;
    if (target !== undefined) member = resolveMemberId(item.id, target);
    else if (parsed.kind === 'absolute') member = parsed.target;
    if (member === undefined) return;
    const path = ['body', 'properties', 'pool', 'services', index, 'id'];
    if (target !== undefined && !sameScope(member, target)) {
      const scope = target.workspaceId === undefined ? 'service (not a workspace)' : 'service and workspace';
      addIssue(
        ctx,
        path,
        'OutOfScope',
        `A pool member must be a backend in the same ${scope} as the pool: write /backends/{backendId}, or the ` +
          "full ARM id of a backend in the pool's own scope.",
      );
      return;
    }
    if (target !== undefined && member.backendId.toLowerCase() === target.backendId.toLowerCase()) {
      addIssue(ctx, path, 'SelfReference', 'A pool cannot contain itself.');
      return;
    }
    const key = backendResourceId(member).toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else {
      addIssue(
        ctx,
        path,
        'Duplicate',
        `This backend is already a member of the pool (services[${first}]; relative and full ids of one backend are the same member).`,
      );
    }
  });
}

/** Refuses fields the request's api-version does not have (ARM would silently drop them). */
export function checkVersionGates(version: ApiVersion, body: unknown, ctx: Ctx): void {
  const properties = isRecord(body) ? body.properties : undefined;
  for (const { path, gate } of fieldsNewerThan(properties, version)) {
    addIssue(
      ctx,
      ['body', 'properties', ...path],
      'NeedsNewerApiVersion',
      `${formatPath(path)} needs api-version ${gate.since} or later; set apiVersion (this request uses ${version}, ` +
        'where ARM would silently drop it).',
    );
  }
}
