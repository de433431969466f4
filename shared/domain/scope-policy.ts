import { backendResourceId } from './backend-id';
import { resolveMemberId } from './contract/pool-member';
import type { ChangeRequest } from './contract/change-request';
import type { ErrorBody, ErrorDetail } from './contract/error-response';

/**
 * The blast radius: ARM id prefixes (subscription, resource group, service, workspace) that changes may target.
 * An empty list allows everything (development); production sets ALLOWED_SCOPES.
 */
export type AllowedScopes = readonly string[];

/** Normalises a scope prefix: lower case, no trailing slash. */
export function normaliseScope(scope: string): string {
  return scope.trim().replace(/\/+$/, '').toLowerCase();
}

/** True when the ARM id lies inside one of the scopes (ARM ids compare case-insensitively, on segment boundaries). */
export function isInScope(id: string, scopes: AllowedScopes): boolean {
  if (scopes.length === 0) return true;
  const lower = id.toLowerCase();
  return scopes.some((scope) => {
    const prefix = normaliseScope(scope);
    return lower === prefix || lower.startsWith(`${prefix}/`);
  });
}

/**
 * Checks the target and every pool member against the allowed scopes; a relative member id (`/backends/x`) is
 * resolved against the pool's own service or workspace first. Returns the error to reject with, or undefined when
 * the request stays inside.
 */
export function checkScope(request: ChangeRequest, scopes: AllowedScopes): ErrorBody | undefined {
  if (scopes.length === 0) return undefined;
  const details: ErrorDetail[] = [];
  if (!isInScope(backendResourceId(request.target), scopes)) {
    details.push({ code: 'ScopeNotAllowed', target: 'target', message: 'The target is outside the allowed scopes.' });
  }
  const properties = (request.body as { properties?: { pool?: { services?: Array<{ id?: unknown }> } } } | undefined)
    ?.properties;
  properties?.pool?.services?.forEach((member, index) => {
    const resolved = typeof member.id === 'string' ? resolveMemberId(member.id, request.target) : undefined;
    if (resolved === undefined || !isInScope(backendResourceId(resolved), scopes)) {
      details.push({
        code: 'ScopeNotAllowed',
        target: `body.properties.pool.services[${index}].id`,
        message: 'The pool member is outside the allowed scopes.',
      });
    }
  });
  if (details.length === 0) return undefined;
  return { code: 'ScopeNotAllowed', message: 'The change targets resources outside ALLOWED_SCOPES.', details };
}
