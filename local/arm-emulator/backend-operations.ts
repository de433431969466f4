import { backendCollectionPath, type BackendScope, type BackendTarget } from '../../shared/domain/backend-id';
import { armError, validationError, type EmulatorResponse } from './arm-error';
import { toContract, type BackendStore } from './backend-store';
import type { BackendRecord } from './types';
import { ifMatchAccepts, isWildcard } from './etag';
import { isIsoDuration } from './iso-duration';
import { isJsonObject, mergePatch } from './merge-patch';
import type { Route } from './route';
import { dropFieldsUnknownTo, validateBackendProperties } from './validate-backend';

/** A request body as read: absent, parsed JSON, or text that is not JSON. */
export type RequestBody = { kind: 'empty' } | { kind: 'json'; value: unknown } | { kind: 'invalid' };

/** One authenticated, versioned request, ready for the backend operations. */
export interface OperationRequest {
  method: string;
  route: Exclude<Route, { kind: 'unknown' }>;
  query: URLSearchParams;
  ifMatch: string | undefined;
  body: RequestBody;
  /** The emulator's base URL, for absolute `nextLink`s. */
  baseUrl: string;
}

/** Settings the operations depend on. */
export interface OperationSettings {
  pageSize: number;
  requireIfMatchOnDelete: boolean;
}

const notFound = (): EmulatorResponse => armError(404, 'ResourceNotFound', 'Backend not found.');

const preconditionFailed = (): EmulatorResponse =>
  armError(412, 'PreconditionFailed', "The entity's ETag does not match the one given in the If-Match header.");

const methodNotAllowed = (method: string): EmulatorResponse =>
  armError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);

/** Runs one backend operation against the store, answering as API Management does. */
export function runOperation(
  req: OperationRequest,
  store: BackendStore,
  settings: OperationSettings,
): EmulatorResponse {
  const { route } = req;
  if (route.kind === 'collection') {
    return req.method === 'GET' ? list(req, route.scope, store, settings) : methodNotAllowed(req.method);
  }
  if (route.kind === 'reconnect') {
    return req.method === 'POST' ? reconnect(req, route.target, store) : methodNotAllowed(req.method);
  }
  const target = route.target;
  switch (req.method) {
    case 'HEAD':
      return head(target, store);
    case 'GET':
      return get(req, target, store);
    case 'PUT':
      return put(req, target, store);
    case 'PATCH':
      return patch(req, target, store);
    case 'DELETE':
      return remove(req, target, store, settings);
    default:
      return methodNotAllowed(req.method);
  }
}

function head(target: BackendTarget, store: BackendStore): EmulatorResponse {
  const record = store.getTarget(target);
  // HEAD answers headers only, errors included.
  if (!record) return { status: 404, headers: {} };
  return { status: 200, headers: { etag: record.etag } };
}

/** The BackendContract as the request's api-version shows it: without the properties that version does not know. */
function contractAt(record: BackendRecord, query: URLSearchParams): Record<string, unknown> {
  const contract = structuredClone(toContract(record));
  if (isJsonObject(contract['properties'])) dropFieldsUnknownTo(contract['properties'], query.get('api-version') ?? '');
  return contract;
}

function get(req: OperationRequest, target: BackendTarget, store: BackendStore): EmulatorResponse {
  const record = store.getTarget(target);
  if (!record) return notFound();
  return { status: 200, headers: { ETag: record.etag }, body: contractAt(record, req.query) };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: EmulatorResponse };

function invalidContent(why: string): EmulatorResponse {
  return armError(
    400,
    'InvalidRequestContent',
    `The request content was invalid and could not be deserialized: ${why}.`,
  );
}

/** The body as a JSON object; ARM refuses an empty or non-JSON body on PUT/PATCH. */
function jsonObjectBody(body: RequestBody): Parsed<Record<string, unknown>> {
  if (body.kind === 'json' && isJsonObject(body.value)) return { ok: true, value: body.value };
  return {
    ok: false,
    error: invalidContent(
      body.kind === 'empty' ? 'the request body is empty' : 'the request body is not a JSON object',
    ),
  };
}

/** `body.properties` as an object (absent = empty). */
function propertiesOf(body: Record<string, unknown>): Parsed<Record<string, unknown>> {
  const properties = body['properties'];
  if (properties === undefined || properties === null) return { ok: true, value: {} };
  if (isJsonObject(properties)) return { ok: true, value: properties };
  return {
    ok: false,
    error: validationError([
      { code: 'ValidationError', target: 'properties', message: "'properties' must be an object." },
    ]),
  };
}

function put(req: OperationRequest, target: BackendTarget, store: BackendStore): EmulatorResponse {
  const parsed = jsonObjectBody(req.body);
  if (!parsed.ok) return parsed.error;
  const existing = store.getTarget(target);
  // If-Match on PUT is optional; when sent it is a precondition (RFC 9110): `*` needs the entity to exist.
  if (req.ifMatch !== undefined && (!existing || !ifMatchAccepts(req.ifMatch, existing.etag))) {
    return preconditionFailed();
  }
  const properties = propertiesOf(parsed.value);
  if (!properties.ok) return properties.error;
  const stored = structuredClone(properties.value);
  dropFieldsUnknownTo(stored, req.query.get('api-version') ?? '');
  const details = validateBackendProperties(stored, { scope: target, lookup: (id) => store.get(id) });
  if (details.length > 0) return validationError(details);
  const { record, created } = store.put(target, stored);
  return { status: created ? 201 : 200, headers: { ETag: record.etag }, body: contractAt(record, req.query) };
}

function patch(req: OperationRequest, target: BackendTarget, store: BackendStore): EmulatorResponse {
  if (req.ifMatch === undefined) {
    return armError(400, 'ValidationError', 'The If-Match header is required for this operation.', [
      { code: 'ValidationError', target: 'If-Match', message: "'If-Match' header should not be empty." },
    ]);
  }
  const parsed = jsonObjectBody(req.body);
  if (!parsed.ok) return parsed.error;
  const existing = store.getTarget(target);
  if (!existing) return notFound();
  if (!ifMatchAccepts(req.ifMatch, existing.etag)) return preconditionFailed();
  const properties = propertiesOf(parsed.value);
  if (!properties.ok) return properties.error;
  const changes = structuredClone(properties.value);
  dropFieldsUnknownTo(changes, req.query.get('api-version') ?? '');
  const merged = mergePatch(existing.properties, changes) as Record<string, unknown>;
  const details = validateBackendProperties(merged, { scope: target, lookup: (id) => store.get(id) });
  if (details.length > 0) return validationError(details);
  const { record } = store.put(target, merged);
  return { status: 200, headers: { ETag: record.etag }, body: contractAt(record, req.query) };
}

function remove(
  req: OperationRequest,
  target: BackendTarget,
  store: BackendStore,
  settings: OperationSettings,
): EmulatorResponse {
  if (req.ifMatch === undefined && settings.requireIfMatchOnDelete) {
    return armError(400, 'ValidationError', 'The If-Match header is required for this operation.', [
      { code: 'ValidationError', target: 'If-Match', message: "'If-Match' header should not be empty." },
    ]);
  }
  const existing = store.getTarget(target);
  if (!existing) return { status: 204, headers: {} };
  if (req.ifMatch !== undefined && !isWildcard(req.ifMatch) && !ifMatchAccepts(req.ifMatch, existing.etag)) {
    return preconditionFailed();
  }
  store.delete(target);
  return { status: 200, headers: {} };
}

function reconnect(req: OperationRequest, target: BackendTarget, store: BackendStore): EmulatorResponse {
  // The body is optional; when sent it is `{"properties":{"after":"<ISO 8601 duration>"}}`.
  if (req.body.kind !== 'empty') {
    const parsed = jsonObjectBody(req.body);
    if (!parsed.ok) return parsed.error;
    const properties = propertiesOf(parsed.value);
    if (!properties.ok) return properties.error;
    const after = properties.value['after'];
    if (after !== undefined && after !== null && !isIsoDuration(after)) {
      return validationError([
        { code: 'ValidationError', target: 'after', message: "'after' must be an ISO 8601 duration, e.g. PT2M." },
      ]);
    }
  }
  if (!store.getTarget(target)) return notFound();
  return { status: 202, headers: {} };
}

function list(
  req: OperationRequest,
  scope: BackendScope,
  store: BackendStore,
  settings: OperationSettings,
): EmulatorResponse {
  if (req.query.has('$filter')) {
    // Refusing is more honest than silently returning an unfiltered list the real service would have filtered.
    return armError(400, 'NotSupported', "The emulator does not implement '$filter'.");
  }
  const top = optionalCount(req.query.get('$top'), 1);
  if (top === null)
    return validationError([
      { code: 'ValidationError', target: '$top', message: "'$top' must be a positive integer." },
    ]);
  const skipText = req.query.get('$skipToken') ?? req.query.get('$skip');
  const skip = optionalCount(skipText, 0);
  if (skip === null) {
    return validationError([{ code: 'ValidationError', target: '$skipToken', message: "'$skipToken' is not valid." }]);
  }
  const all = store.list(scope);
  const start = skip ?? 0;
  const size = Math.min(top ?? settings.pageSize, settings.pageSize);
  const page = all.slice(start, start + size);
  const next = start + page.length;
  let nextLink = '';
  if (next < all.length) {
    const q = new URLSearchParams();
    q.set('api-version', req.query.get('api-version') ?? '');
    if (top !== undefined) q.set('$top', String(top));
    q.set('$skipToken', String(next));
    nextLink = `${req.baseUrl}${backendCollectionPath(scope)}?${q.toString()}`;
  }
  return {
    status: 200,
    headers: {},
    body: { value: page.map((r) => contractAt(r, req.query)), count: all.length, nextLink },
  };
}

/** Parses a non-negative integer query value: undefined when absent, null when invalid or below `min`. */
function optionalCount(text: string | null, min: number): number | undefined | null {
  if (text === null) return undefined;
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= min ? n : null;
}
