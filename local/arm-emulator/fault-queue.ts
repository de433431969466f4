import type { FaultSpec } from './types';

interface ArmedFault {
  spec: FaultSpec;
  remaining: number;
}

/** Injected faults, matched in order of injection and used up one matching request at a time. */
export class FaultQueue {
  private faults: ArmedFault[] = [];

  add(spec: FaultSpec): void {
    const count = spec.count ?? 1;
    if (!(count > 0)) throw new RangeError('fault count must be positive');
    this.faults.push({ spec, remaining: count });
  }

  clear(): void {
    this.faults = [];
  }

  /** The first fault matching the request, with one use taken from it; undefined when none matches. */
  take(method: string, decodedPath: string): FaultSpec | undefined {
    const index = this.faults.findIndex((f) => matches(f.spec, method, decodedPath));
    if (index < 0) return undefined;
    const armed = this.faults[index];
    if (armed === undefined) return undefined;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.faults.splice(index, 1);
    return armed.spec;
  }
}

function matches(spec: FaultSpec, method: string, path: string): boolean {
  if (spec.method !== undefined && spec.method.toUpperCase() !== method.toUpperCase()) return false;
  if (spec.path === undefined) return true;
  if (typeof spec.path === 'string') return path.includes(spec.path);
  spec.path.lastIndex = 0; // a global/sticky regex keeps state between calls
  return spec.path.test(path);
}

/** A short description of a fault for the request log, e.g. `delay 200ms, status 429`. */
export function describeFault(spec: FaultSpec): string {
  const parts: string[] = [];
  if (spec.delayMs !== undefined) parts.push(`delay ${spec.delayMs}ms`);
  if (spec.status !== undefined) parts.push(`status ${spec.status}`);
  if (spec.reset !== undefined) parts.push(`reset ${spec.reset}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}
