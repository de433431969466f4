import { createHash } from 'node:crypto';
import {
  backendResourceId,
  scopeResourceId,
  type BackendScope,
  type BackendTarget,
} from '../../shared/domain/backend-id';
import { formatEtag } from './etag';
import type { BackendRecord } from './types';

const SERVICE_TYPE = 'Microsoft.ApiManagement/service/backends';
const WORKSPACE_TYPE = 'Microsoft.ApiManagement/service/workspaces/backends';

interface StoredBackend extends BackendRecord {
  /** Lower-cased id of the service or workspace holding it, for listing. */
  scopeKey: string;
}

/**
 * The backends the emulator holds, keyed by lower-cased ARM id (ARM ids compare case-insensitively).
 * Every write takes a new version from one counter, so ETags never repeat within an emulator's life.
 */
export class BackendStore {
  private readonly items = new Map<string, StoredBackend>();
  private version = 0;

  get(id: string): BackendRecord | undefined {
    return this.items.get(id.toLowerCase());
  }

  getTarget(target: BackendTarget): BackendRecord | undefined {
    return this.get(backendResourceId(target));
  }

  /**
   * Creates or replaces the backend's properties with a new ETag. An existing backend keeps the id casing it was
   * created with, as ARM does. Returns the record and whether it was created.
   */
  put(target: BackendTarget, properties: Record<string, unknown>): { record: BackendRecord; created: boolean } {
    const id = backendResourceId(target);
    const key = id.toLowerCase();
    const existing = this.items.get(key);
    this.version += 1;
    const etag = formatEtag(this.version);
    if (existing) {
      existing.properties = properties;
      existing.etag = etag;
      return { record: existing, created: false };
    }
    const record: StoredBackend = {
      id,
      type: target.workspaceId === undefined ? SERVICE_TYPE : WORKSPACE_TYPE,
      name: target.backendId,
      properties,
      etag,
      scopeKey: scopeResourceId(target).toLowerCase(),
    };
    this.items.set(key, record);
    return { record, created: true };
  }

  /** Removes the backend; true when it existed. */
  delete(target: BackendTarget): boolean {
    return this.items.delete(backendResourceId(target).toLowerCase());
  }

  /** The backends of one service or workspace, ordered by name (case-insensitive) so paging is stable. */
  list(scope: BackendScope): BackendRecord[] {
    const key = scopeResourceId(scope).toLowerCase();
    const found: StoredBackend[] = [];
    for (const item of this.items.values()) if (item.scopeKey === key) found.push(item);
    return found.sort((a, b) => {
      const x = a.name.toLowerCase();
      const y = b.name.toLowerCase();
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }

  clear(): void {
    this.items.clear();
  }
}

/**
 * The BackendContract ARM answers for a record, as recorded: `title` is null when none was set; pools carry `url`
 * and `protocol` as null too; a Service Fabric backend with a `clientCertificateId` gains the server-computed
 * `clientCertificateThumbprint` of that certificate.
 */
export function toContract(record: BackendRecord): Record<string, unknown> {
  const props = record.properties;
  const isPool = typeof props['type'] === 'string' && props['type'].toLowerCase() === 'pool';
  const properties: Record<string, unknown> = isPool
    ? { title: null, url: null, protocol: null, ...props }
    : { title: null, ...props };
  const fabric = serviceFabricOf(properties);
  if (fabric !== undefined && typeof fabric['clientCertificateId'] === 'string') {
    const cluster = { ...fabric, clientCertificateThumbprint: thumbprintOf(fabric['clientCertificateId']) };
    const typeProperties = properties['properties'] as Record<string, unknown>;
    properties['properties'] = { ...typeProperties, serviceFabricCluster: cluster };
  }
  return { id: record.id, type: record.type, name: record.name, properties };
}

function serviceFabricOf(properties: Record<string, unknown>): Record<string, unknown> | undefined {
  const typeProperties = properties['properties'];
  if (typeof typeProperties !== 'object' || typeProperties === null) return undefined;
  const cluster = (typeProperties as Record<string, unknown>)['serviceFabricCluster'];
  return typeof cluster === 'object' && cluster !== null && !Array.isArray(cluster)
    ? (cluster as Record<string, unknown>)
    : undefined;
}

/** A stable, certificate-like thumbprint (40 upper-case hex digits) for a certificate id. */
function thumbprintOf(certificateId: string): string {
  return createHash('sha1').update(certificateId.toLowerCase()).digest('hex').toUpperCase();
}
