/**
 * Pool member ids. The service accepts a member as the full ARM id of a backend or relative to the pool's own
 * service — or workspace, for a workspace pool — as `/backends/{backendId}` (what most real templates write, e.g.
 * Azure-Samples/AI-Gateway and the Learn page's older example). Every member rule (same service and workspace, not
 * the pool itself, no repeats, inside ALLOWED_SCOPES) applies to the resolved id; the id is sent as written.
 */
import * as z from 'zod';
import { backendResourceId, type BackendScope, type BackendTarget } from '../backend-id';
import { parseBackendArmId, segmentProblem, type ArmIdProblem } from './safe-segment';

/** What a refused member id message says is accepted. */
export const MEMBER_ID_FORMS =
  "Must be a backend's ARM id, /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/" +
  'Microsoft.ApiManagement/service/{serviceName}[/workspaces/{workspaceId}]/backends/{backendId}, or relative to ' +
  "the pool's own service (or workspace), /backends/{backendId}; without a trailing '/'.";

/** A member id as written: absolute (a backend target) or relative (a backend id in the pool's own scope). */
export type MemberId =
  | { ok: true; kind: 'absolute'; target: BackendTarget }
  | { ok: true; kind: 'relative'; backendId: string }
  | { ok: false; problems: ArmIdProblem[] };

const RELATIVE = /^\/backends\/([^/]*)$/i;

/** Reads a pool member id; segments are validated by the same rules as a target's. */
export function parseMemberId(id: string): MemberId {
  if (id.endsWith('/')) {
    return { ok: false, problems: [{ code: 'InvalidResourceId', message: MEMBER_ID_FORMS }] };
  }
  const relative = RELATIVE.exec(id);
  if (relative !== null) {
    const backendId = relative[1] ?? '';
    const problem = segmentProblem('backendId', backendId);
    if (problem) {
      return { ok: false, problems: [{ code: problem.code, message: `The backendId segment ${problem.reason}.` }] };
    }
    return { ok: true, kind: 'relative', backendId };
  }
  const absolute = parseBackendArmId(id);
  if (absolute.ok) return { ok: true, kind: 'absolute', target: absolute.target };
  // A string that is no backend id at all: say which forms are accepted (segment problems already say what is wrong).
  const problems = absolute.problems.map((p) =>
    p.code === 'InvalidResourceId' ? { code: p.code, message: MEMBER_ID_FORMS } : p,
  );
  return { ok: false, problems };
}

/** The backend a member id names, resolved against the pool's own scope; undefined when it is not a valid id. */
export function resolveMemberId(id: string, pool: BackendScope): BackendTarget | undefined {
  const parsed = parseMemberId(id);
  if (!parsed.ok) return undefined;
  if (parsed.kind === 'absolute') return parsed.target;
  const scope: BackendScope = {
    subscriptionId: pool.subscriptionId,
    resourceGroupName: pool.resourceGroupName,
    serviceName: pool.serviceName,
    ...(pool.workspaceId === undefined ? {} : { workspaceId: pool.workspaceId }),
  };
  return { ...scope, backendId: parsed.backendId };
}

/** The lower-cased ARM id a member id resolves to (ARM ids compare case-insensitively), for comparisons. */
export function resolvedMemberKey(id: string, pool: BackendScope): string | undefined {
  const target = resolveMemberId(id, pool);
  return target === undefined ? undefined : backendResourceId(target).toLowerCase();
}

/** A pool member id: a string in one of the accepted forms; the output is the string as written. */
export const PoolMemberIdSchema = z.string().superRefine((id, ctx) => {
  const parsed = parseMemberId(id);
  if (parsed.ok) return;
  for (const p of parsed.problems) ctx.addIssue({ code: 'custom', message: p.message, params: { code: p.code } });
});
