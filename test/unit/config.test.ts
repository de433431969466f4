import { loadConfig } from '../../shared/config/settings';
import { isConfigError } from '../../shared/config/settings-schema';
import { loadTriggerSettings } from '../../shared/config/trigger-settings';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({});
    expect(c.armEndpoint).toBe('https://management.azure.com');
    expect(c.armApiVersion).toBe('2024-05-01');
    expect(c.allowDelete).toBe(false);
    expect(c.skipUnchanged).toBe(true);
    expect(c.maxBodyBytes).toBe(262144);
    expect(c.changeRequestsQueue).toBe('backend-change-requests');
    expect(c.resultsTopic).toBe('backend-change-results');
    expect(c.maxDeliveryCount).toBe(10);
    expect(c.deadlineMs).toBe(200_000);
    expect(c.reconnectTargets).toEqual([]);
    expect(c.circuitBreaker).toEqual({ action: 'notify', maxDrains: 3, windowMs: 3_600_000, queue: undefined });
  });

  it('splits RECONNECT_TARGETS on commas and new lines', () => {
    expect(loadConfig({ RECONNECT_TARGETS: ' /a , /b\n/c\n' }).reconnectTargets).toEqual(['/a', '/b', '/c']);
  });

  it.each([
    ['ARM_ENDPOINT', 'http://management.azure.com'],
    ['ALLOW_DELETE', 'maybe'],
    ['MAX_DELIVERY_COUNT', 'ten'],
    ['CHANGE_DEADLINE_SECONDS', '0'],
    ['ARM_API_VERSION', 'latest'],
    ['ARM_API_VERSION', '2023-09-01-preview'],
    ['RECONNECT_AFTER', '2 minutes'],
    ['LEDGER_FINGERPRINT_KEY', 'too-short-to-be-a-key'],
    ['CIRCUIT_BREAKER_ACTION', 'nuke'],
    ['CIRCUIT_BREAKER_WINDOW', 'P1M'],
    ['CIRCUIT_BREAKER_MAX_DRAINS', '-1'],
  ])('fails fast naming %s when it is invalid', (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      thrown = error;
    }
    expect(isConfigError(thrown)).toBe(true);
    expect((thrown as Error).message).toContain(name);
  });

  it('refuses a Key Vault reference App Service could not resolve, instead of using its text as the secret', () => {
    // The literal is over 32 characters: without this check it would pass as a fingerprint key or a webhook secret.
    const literal = '@Microsoft.KeyVault(VaultName=kv-app-abc;SecretName=ledger-fingerprint-key)';
    for (const name of ['LEDGER_FINGERPRINT_KEY', 'WEBHOOK_SECRETS']) {
      let thrown: unknown;
      try {
        loadConfig({ [name]: literal });
      } catch (error) {
        thrown = error;
      }
      expect(isConfigError(thrown)).toBe(true);
      expect((thrown as Error).message).toContain(`${name}: an unresolved Key Vault reference`);
      expect((thrown as Error).message).not.toContain('SecretName');
    }
  });

  it('takes every supported api-version as ARM_API_VERSION', () => {
    expect(loadConfig({ ARM_API_VERSION: '2026-09-01-preview' }).armApiVersion).toBe('2026-09-01-preview');
  });

  it('treats empty settings as unset', () => {
    expect(loadConfig({ ARM_ENDPOINT: '', ALLOW_DELETE: '' }).armEndpoint).toBe('https://management.azure.com');
  });

  it('reads the fingerprint keys: the current one and the previous ones of a rotation', () => {
    const current = 'c'.repeat(44);
    const config = loadConfig({ LEDGER_FINGERPRINT_KEY: current, LEDGER_FINGERPRINT_PREVIOUS_KEYS: 'a,b' });
    expect(config.ledger.fingerprintKeys).toEqual({ current, previous: ['a', 'b'] });
    expect(loadConfig({}).ledger.fingerprintKeys).toEqual({ current: undefined, previous: [] });
  });
});

describe('loadTriggerSettings (read when the host indexes the functions)', () => {
  it('reads sessions, the reconnect schedule and whether Service Bus is configured, as loadConfig would', () => {
    expect(loadTriggerSettings({})).toEqual({
      sessions: false,
      reconnectSchedule: undefined,
      serviceBusConfigured: false,
      circuitBreakerQueue: undefined,
    });
    const env = {
      CHANGE_REQUESTS_SESSIONS: ' Yes ',
      RECONNECT_SCHEDULE: '0 0 3 * * *',
      ServiceBusConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
    };
    expect(loadTriggerSettings(env)).toEqual({
      sessions: loadConfig(env).sessions,
      reconnectSchedule: '0 0 3 * * *',
      serviceBusConfigured: true,
      circuitBreakerQueue: undefined,
    });
    expect(loadTriggerSettings(env).sessions).toBe(true);
  });

  it('is not stopped by an unrelated invalid setting, which the first invocation reports instead', () => {
    const env = { ARM_ENDPOINT: 'http://plain', CHANGE_REQUESTS_SESSIONS: 'true' };
    expect(loadTriggerSettings(env).sessions).toBe(true);
    expect(() => loadConfig(env)).toThrow(/ARM_ENDPOINT/);
  });

  it('names CHANGE_REQUESTS_SESSIONS when it is not a boolean', () => {
    expect(() => loadTriggerSettings({ CHANGE_REQUESTS_SESSIONS: 'sometimes' })).toThrow(/CHANGE_REQUESTS_SESSIONS/);
  });
});
