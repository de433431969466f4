/**
 * Every official example (Azure/azure-rest-api-specs) validates at its own api-version: the request of each PUT,
 * PATCH and reconnect example, and every backend a response carries, sent back as a createOrUpdate (the GET → edit →
 * PUT workflow). The 2024-05-01 examples are in fixtures/examples, the newer versions' in fixtures/examples-versions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChangeRequest } from '../../shared/domain/contract/change-request';

interface ExampleFile {
  file: string;
  parameters: Record<string, unknown>;
  responses: Record<string, { body?: unknown }>;
}

const DIRS = ['examples', 'examples-versions'].map((d) => join(__dirname, '..', 'fixtures', d));

const examples: ExampleFile[] = DIRS.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<ExampleFile, 'file'>) })),
);

function target(parameters: Record<string, unknown>): Record<string, unknown> {
  const t: Record<string, unknown> = {
    subscriptionId: parameters['subscriptionId'],
    resourceGroupName: parameters['resourceGroupName'],
    serviceName: parameters['serviceName'],
    backendId: parameters['backendId'],
  };
  if (parameters['workspaceId'] !== undefined) t['workspaceId'] = parameters['workspaceId'];
  return t;
}

function operationOf(file: string): 'createOrUpdate' | 'update' | 'reconnect' | undefined {
  if (/Create/.test(file)) return 'createOrUpdate';
  if (/Update/.test(file)) return 'update';
  if (/Reconnect/.test(file)) return 'reconnect';
  return undefined;
}

const requests = examples.filter((e) => operationOf(e.file) !== undefined);

test('both example sets are present (2024-05-01 and the newer versions)', () => {
  const versions = new Set(examples.map((e) => e.parameters['api-version']));
  expect([...versions].sort()).toEqual([
    '2024-05-01',
    '2025-03-01-preview',
    '2025-09-01-preview',
    '2026-09-01-preview',
  ]);
  expect(requests.length).toBeGreaterThanOrEqual(17);
});

test.each(requests.map((e) => [e.file, e] as const))('request of %s validates at its api-version', (_file, e) => {
  const result = parseChangeRequest({
    operation: operationOf(e.file),
    target: target(e.parameters),
    apiVersion: e.parameters['api-version'],
    body: e.parameters['parameters'],
    ...(typeof e.parameters['If-Match'] === 'string' ? { ifMatch: e.parameters['If-Match'] } : {}),
  });
  expect(result).toMatchObject({ ok: true });
});

/** Every backend in an example's success responses (one body, or a list's `value`). */
const answers = examples.flatMap((e) =>
  Object.entries(e.responses)
    .filter(([status]) => status === '200' || status === '201')
    .flatMap(([status, r]) => {
      const body = r.body as { value?: unknown[]; properties?: unknown } | undefined;
      const items = Array.isArray(body?.value) ? body.value : body?.properties === undefined ? [] : [body];
      return items.map((item, i) => [`${e.file} ${status}[${i}]`, e, item] as const);
    }),
);

test.each(answers)('%s sent back as a createOrUpdate validates', (_name, e, answer) => {
  const { id } = answer as { id: string };
  const result = parseChangeRequest({
    operation: 'createOrUpdate',
    target: id,
    apiVersion: e.parameters['api-version'],
    body: answer,
  });
  expect(result).toMatchObject({ ok: true });
});
