/**
 * The product's engine and ARM client, wired to an emulator the way `functions/composition-root.ts` wires them to ARM.
 */
import { createArmBackendClient } from '../shared/adapters/arm/arm-client';
import type { ArmBackendClient } from '../shared/app/arm-ports';
import { createArmCredential } from '../shared/adapters/arm/credential';
import type { WriteLimiter } from '../shared/adapters/arm/write-limiter';
import type { EngineDeps } from '../shared/app/apply-change';
import { silentLogger } from '../shared/app/logger-ports';
import { API_VERSION } from './workload';
import { systemClock } from '../shared/adapters/system-clock';

/** Where the emulator listens and how to reach it. */
export interface EmulatorAddress {
  url: string;
  caCertPem: string;
  token: string;
}

/** A real ARM client (keep-alive, the emulator's CA trusted) for `emulator`, optionally with a write limiter. */
export function benchArmClient(
  emulator: EmulatorAddress,
  options: { writeLimiter?: WriteLimiter; deadlineMs?: number } = {},
): ArmBackendClient {
  return createArmBackendClient({
    endpoint: emulator.url,
    apiVersion: API_VERSION,
    credential: createArmCredential({ endpoint: emulator.url, accessToken: emulator.token }),
    caCertPem: emulator.caCertPem,
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
    ...(options.writeLimiter === undefined ? {} : { writeLimiter: options.writeLimiter }),
  });
}

/** The engine's dependencies around `arm`, with the production defaults except `skipUnchanged`. */
export function benchEngineDeps(arm: ArmBackendClient, skipUnchanged: boolean, deadlineMs = 120_000): EngineDeps {
  return {
    arm,
    clock: systemClock,
    logger: silentLogger,
    settings: { allowDelete: false, deadlineMs, skipUnchanged },
  };
}
