import type { ErrorDetail } from '../../shared/domain/contract/error-response';
import { backendResourceId, sameScope, type BackendScope } from '../../shared/domain/backend-id';
import { DEFAULT_API_VERSION, fieldsNewerThan, supportedApiVersion } from '../../shared/domain/contract/api-versions';
import { isHttpUrl } from '../../shared/domain/contract/field-types';
import { resolveMemberId } from '../../shared/domain/contract/pool-member';
import { isIsoDuration } from './iso-duration';
import { isJsonObject } from './merge-patch';
import type { BackendRecord } from './types';

/** What validation needs from its surroundings: the pool's own scope and a way to look members up. */
export interface ValidationContext {
  scope: BackendScope;
  lookup(id: string): BackendRecord | undefined;
}

/**
 * Drops, in place, the properties the request's api-version does not know, as ARM does (silently). Versions older
 * than 2024-05-01 are treated as 2024-05-01; versions newer than the newest we know keep everything.
 */
export function dropFieldsUnknownTo(props: Record<string, unknown>, apiVersion: string): void {
  const version =
    supportedApiVersion(apiVersion) ?? (apiVersion.slice(0, 10) < '2024-05-01' ? DEFAULT_API_VERSION : undefined);
  if (version === undefined) return;
  for (const { path } of fieldsNewerThan(props, version)) {
    const parent = path.slice(0, -1).reduce<unknown>((at, key) => (at as Record<PropertyKey, unknown>)[key], props);
    delete (parent as Record<PropertyKey, unknown>)[path[path.length - 1] as PropertyKey];
  }
}

const MAX_POOL_MEMBERS = 30;

/**
 * Checks backend properties the way API Management does on PUT (and on the merged result of a PATCH), using the
 * 2024-05-01 schema and the service's documented rules. Returns the failures as ARM error details (empty = valid).
 * Messages quoted by the reference ("'url' should not be empty.", "Url is not supported for backend pool.",
 * "Protocol is not supported for backend pool.", "Backend Entity '…' not found.") are reproduced verbatim; the rest
 * follow the same style. Messages name fields, never values, so secrets are not echoed.
 */
export function validateBackendProperties(props: Record<string, unknown>, ctx: ValidationContext): ErrorDetail[] {
  const v = new Collector();
  const type = props['type'];
  if (present(type) && !oneOf(type, ['Single', 'Pool'])) v.add('type', "'type' must be one of: Single, Pool.");
  const isPool = typeof type === 'string' && type.toLowerCase() === 'pool';

  v.optionalString(props, 'title', 300);
  v.optionalString(props, 'description', 2000);
  v.optionalString(props, 'resourceId', 2000);
  // ARM's own message for a bare ARM id here (terraform-provider-azurerm issue 21047).
  const resourceId = props['resourceId'];
  if (typeof resourceId === 'string' && resourceId !== '' && !isHttpUrl(resourceId)) {
    v.add('resourceId', 'Value should represent absolute http URL');
  }
  v.optionalString(props, 'azureRegion');

  if (isPool) {
    if (present(props['url'])) v.add('url', 'Url is not supported for backend pool.');
    if (present(props['protocol'])) v.add('protocol', 'Protocol is not supported for backend pool.');
    validatePool(props['pool'], ctx, v);
    validatePoolExtras(props['pool'], v);
  } else {
    validateUrl(props['url'], v);
    const protocol = props['protocol'];
    if (!present(protocol) || protocol === '') v.add('protocol', "'protocol' should not be empty.");
    else if (!oneOf(protocol, ['http', 'soap'])) v.add('protocol', "'protocol' must be one of: http, soap.");
  }

  if (present(props['credentials'])) validateCredentials(props['credentials'], v);
  if (present(props['proxy'])) validateProxy(props['proxy'], v);
  if (present(props['tls'])) validateTls(props['tls'], v);
  if (present(props['circuitBreaker'])) validateCircuitBreaker(props['circuitBreaker'], v);
  if (present(props['properties'])) validateTypeProperties(props['properties'], v);
  return v.details;
}

function validateUrl(url: unknown, v: Collector): void {
  if (!present(url) || url === '') v.add('url', "'url' should not be empty.");
  else if (typeof url !== 'string') v.add('url', "'url' must be a string.");
  else if (url.length > 2000) v.add('url', "'url' must not be longer than 2000 characters.");
  // The service needs an absolute URI (any scheme: Service Fabric backends use `fabric:/app/service`).
  else if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(url)) v.add('url', "'url' must be an absolute URI.");
}

function validatePool(pool: unknown, ctx: ValidationContext, v: Collector): void {
  const services = isJsonObject(pool) ? pool['services'] : undefined;
  if (!Array.isArray(services) || services.length === 0 || services.length > MAX_POOL_MEMBERS) {
    v.add('pool.services', `'pool.services' must contain between 1 and ${MAX_POOL_MEMBERS} backends.`);
    return;
  }
  services.forEach((item: unknown, i) => {
    const at = `pool.services[${i}]`;
    if (!isJsonObject(item) || typeof item['id'] !== 'string' || item['id'] === '') {
      v.add(`${at}.id`, `'${at}.id' should not be empty.`);
      return;
    }
    v.optionalInteger(item, 'weight', at, 0, 100);
    v.optionalInteger(item, 'priority', at, 0, 100);
    v.optionalEnum(item, 'preferredCarbonEmission', at, ['VeryLow', 'Low', 'Medium', 'High', 'VeryHigh']);
    const id = item['id'];
    // The full ARM id, or `/backends/{id}` relative to the pool's own service or workspace.
    const resolved = resolveMemberId(id, ctx.scope);
    const member =
      resolved !== undefined && sameScope(resolved, ctx.scope) ? ctx.lookup(backendResourceId(resolved)) : undefined;
    if (!member) v.add(`${at}.id`, `Backend Entity '${id}' not found.`);
    else if (String(member.properties['type']).toLowerCase() === 'pool') {
      v.add(`${at}.id`, `Backend Entity '${id}' is a pool; a pool can only contain single backends.`);
    }
  });
}

function validatePoolExtras(pool: unknown, v: Collector): void {
  if (!isJsonObject(pool)) return;
  if (present(pool['failureResponse'])) validateFailureResponse(pool['failureResponse'], 'pool.failureResponse', v);
  const affinity = pool['sessionAffinity'];
  if (!present(affinity) || !v.object(affinity, 'pool.sessionAffinity')) return;
  const sessionId = affinity['sessionId'];
  if (!present(sessionId) || !v.object(sessionId, 'pool.sessionAffinity.sessionId')) return;
  v.optionalEnum(sessionId, 'source', 'pool.sessionAffinity.sessionId', ['cookie']);
  v.optionalString(sessionId, 'name', undefined, 'pool.sessionAffinity.sessionId');
}

function validateFailureResponse(value: unknown, at: string, v: Collector): void {
  if (v.object(value, at)) v.optionalInteger(value, 'statusCode', at, 100, 599);
}

function validateCredentials(credentials: unknown, v: Collector): void {
  if (!v.object(credentials, 'credentials')) return;
  v.optionalStringArray(credentials, 'certificateIds', 'credentials', 32);
  v.optionalStringArray(credentials, 'certificate', 'credentials', 32);
  for (const key of ['query', 'header'] as const) {
    const map = credentials[key];
    if (!present(map)) continue;
    if (!isJsonObject(map)) {
      v.add(`credentials.${key}`, `'credentials.${key}' must be an object.`);
      continue;
    }
    for (const [name, values] of Object.entries(map)) {
      if (!Array.isArray(values) || values.some((x) => typeof x !== 'string')) {
        v.add(`credentials.${key}.${name}`, `'credentials.${key}.${name}' must be a list of strings.`);
      }
    }
  }
  const auth = credentials['authorization'];
  if (present(auth) && v.object(auth, 'credentials.authorization')) {
    v.requiredString(auth, 'scheme', 'credentials.authorization', 100);
    v.requiredString(auth, 'parameter', 'credentials.authorization', 300);
  }
  // Honoured by the service though no Swagger from 2024-05-01 on declares it (azure-rest-api-specs issue 32665).
  const identity = credentials['managedIdentity'];
  if (present(identity) && v.object(identity, 'credentials.managedIdentity')) {
    v.requiredString(identity, 'resource', 'credentials.managedIdentity', 300);
    v.optionalString(identity, 'clientId', 300, 'credentials.managedIdentity');
  }
}

function validateProxy(proxy: unknown, v: Collector): void {
  if (!v.object(proxy, 'proxy')) return;
  v.requiredString(proxy, 'url', 'proxy', 2000);
  if (typeof proxy['url'] === 'string' && proxy['url'] !== '' && !isHttpUrl(proxy['url'])) {
    v.add('proxy.url', 'Value should represent absolute http URL');
  }
  v.optionalString(proxy, 'username', undefined, 'proxy');
  v.optionalString(proxy, 'password', undefined, 'proxy');
}

function validateTls(tls: unknown, v: Collector): void {
  if (!v.object(tls, 'tls')) return;
  for (const key of ['validateCertificateChain', 'validateCertificateName']) {
    if (present(tls[key]) && typeof tls[key] !== 'boolean') v.add(`tls.${key}`, `'tls.${key}' must be a boolean.`);
  }
  v.optionalStringArray(tls, 'serverCertificateThumbprints', 'tls', Number.MAX_SAFE_INTEGER);
  const names = tls['serverX509Names'];
  if (present(names) && (!Array.isArray(names) || names.some((n) => !isJsonObject(n)))) {
    v.add('tls.serverX509Names', "'tls.serverX509Names' must be a list of objects.");
  }
}

function validateCircuitBreaker(cb: unknown, v: Collector): void {
  if (!v.object(cb, 'circuitBreaker')) return;
  const rules = cb['rules'];
  if (!present(rules)) return;
  if (!Array.isArray(rules)) {
    v.add('circuitBreaker.rules', "'circuitBreaker.rules' must be a list.");
    return;
  }
  // The schema allows 15 rules; the service accepts one.
  if (rules.length > 1) v.add('circuitBreaker.rules', 'Only one circuit breaker rule is supported.');
  rules.forEach((rule: unknown, i) => {
    const at = `circuitBreaker.rules[${i}]`;
    if (!v.object(rule, at)) return;
    v.optionalString(rule, 'name', undefined, at);
    if (present(rule['tripDuration']) && !isIsoDuration(rule['tripDuration'])) {
      v.add(`${at}.tripDuration`, `'${at}.tripDuration' must be an ISO 8601 duration.`);
    }
    if (present(rule['acceptRetryAfter']) && typeof rule['acceptRetryAfter'] !== 'boolean') {
      v.add(`${at}.acceptRetryAfter`, `'${at}.acceptRetryAfter' must be a boolean.`);
    }
    if (present(rule['failureResponse'])) validateFailureResponse(rule['failureResponse'], `${at}.failureResponse`, v);
    const fc = rule['failureCondition'];
    if (present(fc)) validateFailureCondition(fc, `${at}.failureCondition`, v);
  });
}

function validateFailureCondition(fc: unknown, at: string, v: Collector): void {
  if (!v.object(fc, at)) return;
  v.optionalInteger(fc, 'count', at, 0, Number.MAX_SAFE_INTEGER);
  v.optionalInteger(fc, 'percentage', at, 0, Number.MAX_SAFE_INTEGER);
  if (present(fc['interval']) && !isIsoDuration(fc['interval'])) {
    v.add(`${at}.interval`, `'${at}.interval' must be an ISO 8601 duration.`);
  }
  const ranges = fc['statusCodeRanges'];
  if (present(ranges)) {
    if (!Array.isArray(ranges) || ranges.length > 10) {
      v.add(`${at}.statusCodeRanges`, `'${at}.statusCodeRanges' must be a list of at most 10 ranges.`);
    } else {
      ranges.forEach((range: unknown, i) => {
        const r = `${at}.statusCodeRanges[${i}]`;
        if (!v.object(range, r)) return;
        v.optionalInteger(range, 'min', r, 200, 599);
        v.optionalInteger(range, 'max', r, 200, 599);
      });
    }
  }
  const reasons = fc['errorReasons'];
  if (present(reasons)) {
    if (!Array.isArray(reasons) || reasons.length > 10) {
      v.add(`${at}.errorReasons`, `'${at}.errorReasons' must be a list of at most 10 reasons.`);
    } else if (reasons.some((r) => typeof r !== 'string' || r.length > 200)) {
      v.add(`${at}.errorReasons`, `'${at}.errorReasons' items must be strings of at most 200 characters.`);
    }
  }
}

function validateTypeProperties(properties: unknown, v: Collector): void {
  if (!v.object(properties, 'properties')) return;
  const sf = properties['serviceFabricCluster'];
  if (!present(sf)) return;
  const at = 'properties.serviceFabricCluster';
  if (!v.object(sf, at)) return;
  const endpoints = sf['managementEndpoints'];
  if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== 'string')) {
    v.add(`${at}.managementEndpoints`, `'${at}.managementEndpoints' should not be empty.`);
  }
  v.optionalString(sf, 'clientCertificateId', undefined, at);
  v.optionalString(sf, 'clientCertificatethumbprint', undefined, at);
  v.optionalInteger(sf, 'maxPartitionResolutionRetries', at, 0, 2 ** 31 - 1);
  v.optionalStringArray(sf, 'serverCertificateThumbprints', at, Number.MAX_SAFE_INTEGER);
  const names = sf['serverX509Names'];
  if (present(names) && (!Array.isArray(names) || names.some((n) => !isJsonObject(n)))) {
    v.add(`${at}.serverX509Names`, `'${at}.serverX509Names' must be a list of objects.`);
  }
}

/** JSON `null` counts as absent, as in ARM's deserialisation (a GET-modify-PUT sends a pool's nulls back). */
function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Enums are `modelAsString`; the service parses them case-insensitively. */
function oneOf(value: unknown, allowed: string[]): boolean {
  return typeof value === 'string' && allowed.some((a) => a.toLowerCase() === value.toLowerCase());
}

/** Integers may arrive as JSON numbers or integer strings (ARM templates write `"priority": "1"`). */
function asInteger(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

class Collector {
  readonly details: ErrorDetail[] = [];

  add(target: string, message: string): void {
    this.details.push({ code: 'ValidationError', target, message });
  }

  object(value: unknown, at: string): value is Record<string, unknown> {
    if (isJsonObject(value)) return true;
    this.add(at, `'${at}' must be an object.`);
    return false;
  }

  optionalString(obj: Record<string, unknown>, key: string, maxLength?: number, parent?: string): void {
    const value = obj[key];
    if (!present(value)) return;
    const at = parent === undefined ? key : `${parent}.${key}`;
    if (typeof value !== 'string') this.add(at, `'${at}' must be a string.`);
    else if (maxLength !== undefined && (value.length < 1 || value.length > maxLength)) {
      this.add(at, `'${at}' must be between 1 and ${maxLength} characters long.`);
    }
  }

  optionalEnum(obj: Record<string, unknown>, key: string, parent: string, allowed: string[]): void {
    const value = obj[key];
    if (present(value) && !oneOf(value, allowed)) {
      this.add(`${parent}.${key}`, `'${parent}.${key}' must be one of: ${allowed.join(', ')}.`);
    }
  }

  requiredString(obj: Record<string, unknown>, key: string, parent: string, maxLength: number): void {
    const at = `${parent}.${key}`;
    const value = obj[key];
    if (!present(value) || value === '') this.add(at, `'${at}' should not be empty.`);
    else if (typeof value !== 'string') this.add(at, `'${at}' must be a string.`);
    else if (value.length > maxLength) this.add(at, `'${at}' must not be longer than ${maxLength} characters.`);
  }

  optionalStringArray(obj: Record<string, unknown>, key: string, parent: string, maxItems: number): void {
    const value = obj[key];
    if (!present(value)) return;
    const at = `${parent}.${key}`;
    if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) {
      this.add(at, `'${at}' must be a list of strings.`);
    } else if (value.length > maxItems) this.add(at, `'${at}' must not contain more than ${maxItems} items.`);
  }

  optionalInteger(obj: Record<string, unknown>, key: string, parent: string, min: number, max: number): void {
    const value = obj[key];
    if (!present(value)) return;
    const at = `${parent}.${key}`;
    const n = asInteger(value);
    if (n === undefined) this.add(at, `'${at}' must be an integer.`);
    else if (n < min || n > max) this.add(at, `'${at}' must be between ${min} and ${max}.`);
  }
}
