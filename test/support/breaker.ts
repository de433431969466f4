import { HttpRequest } from '@azure/functions';
import { withChangeService, type AppServices } from '../../functions/composition-root';
import { SERVICE_ID, type Stack } from './stack';

export const backendId = (name: string): string => `${SERVICE_ID}/backends/${name}`;

/** Seeds single backends and one pool listing them with the given priorities (weight 1 each). */
export function seedPool(stack: Stack, pool: string, members: Array<[string, number]>): void {
  for (const [name] of members) {
    stack.emulator.putBackend(backendId(name), { url: `https://${name}.example/`, protocol: 'http' });
  }
  stack.emulator.putBackend(backendId(pool), {
    type: 'Pool',
    pool: { services: members.map(([name, priority]) => ({ id: backendId(name), priority, weight: 1 })) },
  });
}

export function poolServices(stack: Stack, pool: string): Array<{ id: string; priority?: number; weight?: number }> {
  return (stack.emulator.getBackend(backendId(pool))!.properties as any).pool.services;
}

export function memberOf(stack: Stack, pool: string, name: string) {
  return poolServices(stack, pool).find((m) => m.id.toLowerCase() === backendId(name).toLowerCase());
}

let counter = 0;
/** An API Management breaker event in the Event Grid schema. */
export function gridEvent(
  kind: 'Opened' | 'Closed',
  backend: string,
  time: string,
  options: { id?: string; rule?: string; type?: string } = {},
): Record<string, unknown> {
  const rule = options.rule ?? 'breakThrottling';
  return {
    id: options.id ?? `evt-${++counter}-${Math.random().toString(16).slice(2)}`,
    topic: SERVICE_ID,
    subject: `/backends/${backend}/circuit-breaker/rules/${rule}`,
    data: { backendName: backend, circuitBreaker: { rules: { [rule]: { tripDuration: '00:00:01' } } } },
    eventType: options.type ?? `Microsoft.ApiManagement.CircuitBreaker.${kind}`,
    dataVersion: '1',
    metadataVersion: '1',
    eventTime: time,
  };
}

/** The same event in the CloudEvents schema (with the Learn example's `specVersion` spelling). */
export function cloudEvent(grid: Record<string, unknown>): Record<string, unknown> {
  return {
    source: grid['topic'],
    subject: grid['subject'],
    type: grid['eventType'],
    time: grid['eventTime'],
    id: grid['id'],
    data: grid['data'],
    specVersion: '1.0',
  };
}

export function webhookPost(body: unknown, contentType = 'application/json', headers: Record<string, string> = {}) {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/circuit-breaker-events',
    headers: { 'content-type': contentType, ...headers },
    body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
  });
}

/** The stack's services with another breaker configuration. */
export function withBreaker(
  stack: Stack,
  breaker: Partial<AppServices['config']['circuitBreaker']>,
  extra: Partial<AppServices['config']> = {},
): () => AppServices {
  const config = {
    ...stack.services.config,
    ...extra,
    circuitBreaker: { ...stack.services.config.circuitBreaker, ...breaker },
  };
  const services = withChangeService({ ...stack.services, config });
  return () => services;
}

export const patches = (stack: Stack, pool?: string) =>
  stack.emulator.requests.filter(
    (r) => r.method === 'PATCH' && (pool === undefined || r.path.toLowerCase().endsWith(`/backends/${pool}`)),
  );

/** Waits until an event matching `predicate` is on the topic's `all` subscription. */
export async function eventOnTopic(stack: Stack, predicate: (event: any) => boolean): Promise<any> {
  for (let i = 0; i < 150; i++) {
    const found = stack.events().find(predicate);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no such event on the topic');
}
