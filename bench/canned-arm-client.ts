/**
 * An in-memory ArmBackendClient that answers every call at once with a canned ARM answer: the engine's own CPU cost
 * can then be measured without any I/O.
 */
import type { ArmBackendClient, ArmResult } from '../shared/app/arm-ports';
import { backendResourceId, type BackendTarget } from '../shared/domain/backend-id';

const HEADERS = {
  etag: '"AAAAAAAAAAA="',
  requestId: '4f1c0b54-0000-0000-0000-000000000000',
  correlationRequestId: '7d2e0b54-0000-0000-0000-000000000000',
};

/** What ARM answers a PUT/PATCH/GET with: the resource, its properties echoed (secrets included, as ARM does). */
function resource(target: BackendTarget, body: unknown): unknown {
  const properties = (body as { properties?: unknown } | undefined)?.properties ?? {};
  return {
    id: backendResourceId(target),
    type: 'Microsoft.ApiManagement/service/backends',
    name: target.backendId,
    properties,
  };
}

/** The canned client. `current(target)` is the state a GET returns (undefined: 404). */
export function cannedArmClient(current: (target: BackendTarget) => unknown = () => undefined): ArmBackendClient {
  const ok = <T>(status: number, body: T): Promise<ArmResult<T>> =>
    Promise.resolve({ kind: 'ok', status, headers: HEADERS, body, attempts: 1, reads: 0 });
  const notFound = (): Promise<ArmResult<never>> =>
    Promise.resolve({
      kind: 'armError',
      status: 404,
      headers: HEADERS,
      error: { code: 'ResourceNotFound', message: 'Backend not found.' },
      attempts: 1,
      reads: 0,
    });
  return {
    getEntityTag: (target) => (current(target) === undefined ? notFound() : ok(200, undefined)),
    get: (target) => {
      const state = current(target);
      return state === undefined ? notFound() : ok<unknown>(200, resource(target, state));
    },
    list: () =>
      Promise.resolve({ kind: 'ok', status: 200, headers: HEADERS, body: { value: [] }, attempts: 1, reads: 0 }),
    createOrUpdate: (target, body) => ok<unknown>(200, resource(target, body)),
    update: (target, body) => ok<unknown>(200, resource(target, body)),
    reconnect: () => ok(202, undefined),
    delete: () => ok(200, undefined),
  };
}
