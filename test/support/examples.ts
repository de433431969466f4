import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** An official example file (Azure/azure-rest-api-specs, 2024-05-01). */
export interface Example {
  file: string;
  parameters: Record<string, unknown> & {
    subscriptionId: string;
    resourceGroupName: string;
    serviceName: string;
    backendId: string;
    workspaceId?: string;
    parameters?: unknown;
    'If-Match'?: string;
  };
  responses: Record<string, { body?: unknown; headers?: Record<string, string> }>;
}

const DIR = join(__dirname, '..', 'fixtures', 'examples');
/** The examples of the api-versions after 2024-05-01 (spec-versions of the reference). */
const VERSIONS_DIR = join(__dirname, '..', 'fixtures', 'examples-versions');

function examplesIn(dir: string): Example[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<Example, 'file'>) }));
}

/** Every 2024-05-01 example file, parsed. */
export function loadExamples(): Example[] {
  return examplesIn(DIR);
}

/** Every example file of every api-version (2024-05-01 and the later ones), parsed. */
export function loadAllExamples(): Example[] {
  return [...examplesIn(DIR), ...examplesIn(VERSIONS_DIR)];
}

/** The change-request operation an example file shows, by its name (undefined: a GET, HEAD, DELETE or list). */
export function exampleOperation(file: string): 'createOrUpdate' | 'update' | 'reconnect' | undefined {
  if (/Create/.test(file)) return 'createOrUpdate';
  if (/Update/.test(file)) return 'update';
  if (/Reconnect/.test(file)) return 'reconnect';
  return undefined;
}

/** Every backend in an example's success answers (200/201: one body, or a list's `value`), with where it stands. */
export function exampleAnswers(e: Example): { status: string; index: number; backend: unknown }[] {
  return Object.entries(e.responses)
    .filter(([status]) => status === '200' || status === '201')
    .flatMap(([status, r]) => {
      const body = r.body as { value?: unknown[]; properties?: unknown } | undefined;
      const items = Array.isArray(body?.value) ? body.value : body?.properties === undefined ? [] : [body];
      return items.map((backend, index) => ({ status, index, backend }));
    });
}

/** One example by file name. */
export function example(file: string): Example {
  const found = loadExamples().find((e) => e.file === file);
  if (!found) throw new Error(`no example ${file}`);
  return found;
}

/** The change-request target of an example. */
export function exampleTarget(e: Example): Record<string, string> {
  const t: Record<string, string> = {
    subscriptionId: e.parameters.subscriptionId,
    resourceGroupName: e.parameters.resourceGroupName,
    serviceName: e.parameters.serviceName,
    backendId: e.parameters.backendId,
  };
  if (e.parameters.workspaceId !== undefined) t['workspaceId'] = e.parameters.workspaceId;
  return t;
}
