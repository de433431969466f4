import { buildPlan } from '../../shared/domain/plan';
import { REDACTED, redactSecrets, scrubSecretValues, secretValues, splitPath } from '../../shared/domain/redact';

const SECRETS = ['s3cr3t-auth-param', 's3cr3t-header-val', 's3cr3t-query-val', 's3cr3t-proxy-pass'];

function backendWithSecrets(): Record<string, unknown> {
  return {
    id: '/subscriptions/x/backends/b',
    properties: {
      url: 'https://backend.example/',
      protocol: 'http',
      description: 'not a secret',
      credentials: {
        header: { 'x-api-key': [SECRETS[1]], 'x.dotted.name': [SECRETS[1]] },
        query: { sig: [SECRETS[2], SECRETS[2]] },
        authorization: { scheme: 'Basic', parameter: SECRETS[0] },
        certificateIds: ['/certs/c1'],
      },
      proxy: { url: 'http://proxy:8080', username: 'admin', password: SECRETS[3] },
    },
  };
}

function containsSecret(value: unknown): boolean {
  const text = JSON.stringify(value);
  return SECRETS.some((s) => text.includes(s));
}

describe('redactSecrets', () => {
  it('replaces every secret-bearing field of a backend and keeps everything else', () => {
    const redacted = redactSecrets(backendWithSecrets()) as any;
    expect(containsSecret(redacted)).toBe(false);
    expect(redacted.properties.credentials.authorization).toEqual({ scheme: 'Basic', parameter: REDACTED });
    expect(redacted.properties.credentials.header['x-api-key']).toEqual([REDACTED]);
    expect(redacted.properties.credentials.query.sig).toEqual([REDACTED, REDACTED]);
    expect(redacted.properties.proxy).toEqual({ url: 'http://proxy:8080', username: 'admin', password: REDACTED });
    expect(redacted.properties.credentials.certificateIds).toEqual(['/certs/c1']);
    expect(redacted.properties.url).toBe('https://backend.example/');
  });

  it('does not modify its input', () => {
    const input = backendWithSecrets();
    redactSecrets(input);
    expect(containsSecret(input)).toBe(true);
  });

  it('redacts wherever a backend body is nested (a change request, a list)', () => {
    const request = { requestId: 'r1', body: backendWithSecrets(), list: { value: [backendWithSecrets()] } };
    expect(containsSecret(redactSecrets(request))).toBe(false);
  });

  it('redacts fragments given their base path (plan entries)', () => {
    expect(redactSecrets({ url: 'u', password: SECRETS[3] }, ['properties', 'proxy'])).toEqual({
      url: 'u',
      password: REDACTED,
    });
    expect(redactSecrets(SECRETS[0], ['properties', 'credentials', 'authorization', 'parameter'])).toBe(REDACTED);
  });
});

describe('splitPath', () => {
  it('reads dotted keys, indices and quoted keys', () => {
    expect(splitPath('properties.pool.services[0].weight')).toEqual(['properties', 'pool', 'services', 'weight']);
    expect(splitPath('properties.credentials.header["x-api.key"][1]')).toEqual([
      'properties',
      'credentials',
      'header',
      'x-api.key',
    ]);
  });
});

describe('buildPlan', () => {
  it('redacts the current state and every planned change, whatever its depth', () => {
    const current = backendWithSecrets();
    const desired = { properties: { ...(backendWithSecrets().properties as object), url: 'https://new/' } } as any;
    desired.properties.credentials = {
      authorization: { scheme: 'Basic', parameter: 'new-s3cr3t-auth-param' },
      header: { 'x-api-key': ['new-s3cr3t-header'], fresh: ['new-s3cr3t-fresh'] },
      query: { sig: ['new-s3cr3t-query'] },
    };
    desired.properties.proxy = { url: 'http://proxy:8080', password: 'new-s3cr3t-proxy-pass' };
    const plan = buildPlan('createOrUpdate', current, desired);
    const text = JSON.stringify(plan);
    expect(containsSecret(plan)).toBe(false);
    expect(text).not.toContain('new-s3cr3t');
    expect(plan.changes).toContainEqual({
      path: 'properties.url',
      from: 'https://backend.example/',
      to: 'https://new/',
    });
  });

  it('lists removals for createOrUpdate (PUT replaces) but not for update (PATCH merges)', () => {
    const current = { properties: { url: 'https://a/', protocol: 'http', description: 'old' } };
    const desired = { properties: { url: 'https://a/', protocol: 'http' } };
    expect(buildPlan('createOrUpdate', current, desired).changes).toEqual([
      { path: 'properties.description', from: 'old' },
    ]);
    expect(buildPlan('update', current, desired).changes).toEqual([]);
  });

  it('treats a missing backend as empty current state', () => {
    const plan = buildPlan('createOrUpdate', null, { properties: { url: 'https://a/', protocol: 'http' } });
    expect(plan.current).toBeNull();
    expect(plan.changes.map((c) => c.path).sort()).toEqual(['properties.protocol', 'properties.url']);
  });
});

describe('scrubSecretValues', () => {
  it('removes a request’s own secret values from text it does not control (an ARM error message)', () => {
    const secrets = secretValues(backendWithSecrets());
    expect(secrets.sort()).toEqual([...SECRETS, SECRETS[1], SECRETS[2]].sort());
    const error = {
      code: 'BadRequest',
      message: `Header value ${SECRETS[1]} is invalid`,
      details: [{ code: 'x', message: SECRETS[3] }],
    };
    const scrubbed = scrubSecretValues(error, secrets);
    expect(containsSecret(scrubbed)).toBe(false);
    expect(scrubbed.message).toBe(`Header value ${REDACTED} is invalid`);
  });
});

describe('plan removal paths', () => {
  it('redacts a removed credential whose header name is not an identifier', () => {
    const current = { properties: { credentials: { header: { '123': ['pl4nted-numeric'], keep: ['k'] } } } };
    const desired = { properties: { credentials: { header: { keep: ['k'] } } } };
    const plan = buildPlan('createOrUpdate', current, desired);
    expect(JSON.stringify(plan)).not.toContain('pl4nted-numeric');
    expect(plan.changes).toEqual([{ path: 'properties.credentials.header["123"]', from: [REDACTED] }]);
  });
});
