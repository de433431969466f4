import { createArmBackendClient } from '../../shared/arm/arm-client';
import type { ArmBackendClient } from '../../shared/arm/arm-client-types';
import { createArmCredential } from '../../shared/arm/credential';
import type { ArmEmulator } from '../../local/arm-emulator';

/** The real ARM client, trusting the emulator's certificate (TLS verification stays on). */
export function clientFor(emulator: ArmEmulator, overrides: { deadlineMs?: number } = {}): ArmBackendClient {
  return createArmBackendClient({
    endpoint: emulator.url,
    apiVersion: '2024-05-01',
    credential: createArmCredential({ endpoint: emulator.url, accessToken: emulator.token }),
    caCertPem: emulator.caCertPem,
    perAttemptTimeoutMs: 5000,
    deadlineMs: overrides.deadlineMs ?? 20000,
  });
}
