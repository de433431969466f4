/**
 * The requests the benchmark sends: realistic backend bodies (the official ProxyBackend example, secrets included so
 * redaction has work to do), one backend per index, and the change requests wrapping them.
 */
import type { BackendTarget } from '../shared/domain/backend-id';
import { backendPath } from '../shared/domain/backend-id';

export const SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const API_VERSION = '2024-05-01';

/** The backend at `index` (backends `bench-0` … `bench-N`) of one service. */
export function benchTarget(index: number): BackendTarget {
  return {
    subscriptionId: SUBSCRIPTION_ID,
    resourceGroupName: 'rg-bench',
    serviceName: 'apim-bench',
    backendId: `bench-${index}`,
  };
}

/** The URL path of that backend with the api-version, as a bare HTTP client sends it. */
export function benchPath(index: number): string {
  return `${backendPath(benchTarget(index))}?api-version=${API_VERSION}`;
}

/**
 * A full PUT body for backend `index`; `tag` makes the state differ between rounds, so every PUT is a real change.
 * Shaped like the official ProxyBackend example (credentials, proxy password, TLS).
 */
export function benchBody(index: number, tag: string): { properties: Record<string, unknown> } {
  return {
    properties: {
      description: `bench backend ${index} ${tag}`,
      url: `https://backend-${index}.example.com/${tag}`,
      protocol: 'http',
      tls: { validateCertificateChain: true, validateCertificateName: true },
      proxy: { url: 'http://192.168.1.1:8080', username: 'Contoso\\admin', password: `proxy-secret-${index}` },
      credentials: {
        query: { sv: ['xx', 'bb', 'cc'] },
        header: { 'x-my-1': ['val1', 'val2'] },
        authorization: { scheme: 'Basic', parameter: `opensesame-${index}` },
      },
    },
  };
}

/** A PATCH body for backend `index`: the description and url only. */
export function benchPatchBody(index: number, tag: string): { properties: Record<string, unknown> } {
  return {
    properties: { description: `bench backend ${index} ${tag}`, url: `https://backend-${index}.example.com/${tag}` },
  };
}

/** A raw (unvalidated) createOrUpdate change request, as a trigger receives it. */
export function rawCreateOrUpdate(index: number, tag: string, requestId = `bench-${tag}-${index}`): unknown {
  return { requestId, operation: 'createOrUpdate', target: benchTarget(index), body: benchBody(index, tag) };
}
