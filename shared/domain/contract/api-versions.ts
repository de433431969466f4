/**
 * The ARM api-versions of the backend resource this service validates against and sends with, and the fields each
 * one added. One body schema holds the fields of every version; `VERSION_GATES` says where each newer field starts,
 * so a field used at an older version is refused (ARM would silently drop it) instead of six schema copies drifting.
 *
 * Source: the Swagger/TypeSpec backend definitions of every version (shared/reference/spec-versions/CHANGES.md).
 * 2024-06-01-preview has the same backend schema as 2024-05-01; 2025-09-01-preview and 2026-09-01-preview the same
 * as 2025-03-01-preview.
 */

/** Every supported api-version, oldest first. */
export const SUPPORTED_API_VERSIONS = [
  '2024-05-01',
  '2024-06-01-preview',
  '2024-10-01-preview',
  '2025-03-01-preview',
  '2025-09-01-preview',
  '2026-09-01-preview',
] as const;

export type ApiVersion = (typeof SUPPORTED_API_VERSIONS)[number];

/** The api-version used when neither the request nor `ARM_API_VERSION` names one: the newest stable version. */
export const DEFAULT_API_VERSION: ApiVersion = '2024-05-01';

/** The supported version spelled like `value` (ARM reads api-version case-insensitively), or undefined. */
export function supportedApiVersion(value: string): ApiVersion | undefined {
  const lower = value.toLowerCase();
  return SUPPORTED_API_VERSIONS.find((v) => v === lower);
}

/** True when `version` is `first` or newer. */
export function isAtLeast(version: ApiVersion, first: ApiVersion): boolean {
  return SUPPORTED_API_VERSIONS.indexOf(version) >= SUPPORTED_API_VERSIONS.indexOf(first);
}

/** A field added after 2024-05-01: its path under `properties` (`[]` = every item of an array) and first version. */
export interface VersionGate {
  path: string;
  since: ApiVersion;
}

/** Every field newer than 2024-05-01, with the first api-version whose backend schema has it. */
export const VERSION_GATES: readonly VersionGate[] = [
  { path: 'pool.failureResponse', since: '2024-10-01-preview' },
  { path: 'pool.sessionAffinity', since: '2024-10-01-preview' },
  { path: 'circuitBreaker.rules[].failureResponse', since: '2024-10-01-preview' },
  { path: 'azureRegion', since: '2025-03-01-preview' },
  { path: 'pool.services[].preferredCarbonEmission', since: '2025-03-01-preview' },
  { path: 'tls.serverCertificateThumbprints', since: '2025-03-01-preview' },
  { path: 'tls.serverX509Names', since: '2025-03-01-preview' },
];

/** A gated field found in a body: its concrete path (array indices filled in) below `properties`. */
export interface GatedField {
  path: PropertyKey[];
  gate: VersionGate;
}

/** Each gate's path as steps (`[]`: every item of an array), split once rather than per request. */
const GATE_STEPS: ReadonlyArray<{ gate: VersionGate; steps: readonly string[]; since: number }> = VERSION_GATES.map(
  (gate) => ({
    gate,
    steps: gate.path.replace(/\[\]/g, '.[]').split('.'),
    since: SUPPORTED_API_VERSIONS.indexOf(gate.since),
  }),
);

/**
 * The fields of `properties` that `version` does not know. A `null` or absent value is not a use of the field.
 * Reads the raw value defensively (it may not have passed validation).
 */
export function fieldsNewerThan(properties: unknown, version: ApiVersion): GatedField[] {
  const found: GatedField[] = [];
  // Nothing to look for at the newest versions; and most bodies have none of the gated fields' parents.
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return found;
  const at = SUPPORTED_API_VERSIONS.indexOf(version);
  for (const { gate, steps, since } of GATE_STEPS) {
    if (at >= since) continue;
    collect(properties, steps, 0, [], gate, found);
  }
  return found;
}

function collect(
  value: unknown,
  steps: readonly string[],
  index: number,
  at: PropertyKey[],
  gate: VersionGate,
  out: GatedField[],
): void {
  if (index === steps.length) {
    if (value !== undefined && value !== null) out.push({ path: at, gate });
    return;
  }
  const step = steps[index]!;
  if (step === '[]') {
    if (Array.isArray(value)) value.forEach((item, i) => collect(item, steps, index + 1, [...at, i], gate, out));
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  if (!Object.hasOwn(value, step)) return;
  collect((value as Record<string, unknown>)[step], steps, index + 1, [...at, step], gate, out);
}
