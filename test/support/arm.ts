import { createArmBackendClient } from '../../shared/adapters/arm/arm-client';
import type { ArmBackendClient } from '../../shared/app/arm-ports';
import { createArmCredential } from '../../shared/adapters/arm/credential';
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
