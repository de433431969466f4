import { isConfigError, loadConfig } from '../../shared/config';

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

  it('takes every supported api-version as ARM_API_VERSION', () => {
    expect(loadConfig({ ARM_API_VERSION: '2026-09-01-preview' }).armApiVersion).toBe('2026-09-01-preview');
  });

  it('treats empty settings as unset', () => {
    expect(loadConfig({ ARM_ENDPOINT: '', ALLOW_DELETE: '' }).armEndpoint).toBe('https://management.azure.com');
  });
});
