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

/** Every example file, parsed. */
export function loadExamples(): Example[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Omit<Example, 'file'>) }));
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
