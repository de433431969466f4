import { parseChangeRequest, type ChangeRequest } from '../../shared/domain/contract/change-request';
import { checkScope, isInScope, normaliseScope } from '../../shared/domain/scope-policy';

const SUB = '00000000-0000-0000-0000-000000000000';
const OTHER_SUB = '11111111-1111-1111-1111-111111111111';
const RG = `/subscriptions/${SUB}/resourceGroups/rg1`;
const APIM1 = `${RG}/providers/Microsoft.ApiManagement/service/apim1`;
const APIM10 = `${RG}/providers/Microsoft.ApiManagement/service/apim10`;
const WKS1 = `${APIM1}/workspaces/wks1`;

describe('isInScope', () => {
  it('allows everything when no scope is configured (development)', () => {
    expect(isInScope(`${APIM1}/backends/b1`, [])).toBe(true);
  });

  it.each([
    ['subscription', `/subscriptions/${SUB}`],
    ['resource group', RG],
    ['service', APIM1],
  ])('a %s prefix allows backends beneath it', (_kind, scope) => {
    expect(isInScope(`${APIM1}/backends/b1`, [scope])).toBe(true);
    expect(isInScope(`${WKS1}/backends/b1`, [scope])).toBe(true);
  });

  it('a workspace prefix allows that workspace’s backends, not the service’s own or another workspace’s', () => {
    expect(isInScope(`${WKS1}/backends/b1`, [WKS1])).toBe(true);
    expect(isInScope(`${APIM1}/backends/b1`, [WKS1])).toBe(false);
    expect(isInScope(`${APIM1}/workspaces/wks2/backends/b1`, [WKS1])).toBe(false);
  });

  it('refuses backends outside every scope', () => {
    const scopes = [`/subscriptions/${OTHER_SUB}`, `/subscriptions/${SUB}/resourceGroups/rg2`];
    expect(isInScope(`${APIM1}/backends/b1`, scopes)).toBe(false);
  });

  it('allows a backend inside any one of several scopes', () => {
    expect(isInScope(`${APIM1}/backends/b1`, [`/subscriptions/${OTHER_SUB}`, APIM1])).toBe(true);
  });

  it('compares case-insensitively in both directions, as ARM ids do', () => {
    expect(isInScope(`${APIM1}/backends/b1`.toUpperCase(), [APIM1])).toBe(true);
    expect(isInScope(`${APIM1}/backends/b1`, [APIM1.toUpperCase()])).toBe(true);
    expect(
      isInScope(`${APIM1}/backends/b1`, [APIM1.replace('Microsoft.ApiManagement', 'microsoft.apimanagement')]),
    ).toBe(true);
  });

  it('matches on segment boundaries only: /service/apim1 does not allow /service/apim10', () => {
    expect(isInScope(`${APIM10}/backends/b1`, [APIM1])).toBe(false);
    expect(isInScope(`${APIM10}/backends/b1`, [`${APIM1}/`])).toBe(false);
    expect(isInScope(`/subscriptions/${SUB}/resourceGroups/rg10/providers/x`, [RG])).toBe(false);
    expect(isInScope(`${APIM1}/workspaces/wks10/backends/b1`, [WKS1])).toBe(false);
    expect(isInScope(`${APIM1}-other/backends/b1`, [APIM1])).toBe(false);
  });

  it('ignores a trailing slash and padding in the configured scope', () => {
    expect(normaliseScope(` ${APIM1}/ `)).toBe(APIM1.toLowerCase());
    expect(isInScope(`${APIM1}/backends/b1`, [`${APIM1}/`])).toBe(true);
    expect(isInScope(`${APIM1}/backends/b1`, [`  ${APIM1}  `])).toBe(true);
  });

  it('the scope itself is inside it', () => {
    expect(isInScope(APIM1, [APIM1])).toBe(true);
  });
});

/** A validated request (fails the test if the fixture itself is invalid). */
function request(input: unknown): ChangeRequest {
  const parsed = parseChangeRequest(input);
  if (!parsed.ok) throw new Error(`fixture invalid: ${JSON.stringify(parsed.error)}`);
  return parsed.request;
}

const pool = (service: string, members: string[]) =>
  request({
    operation: 'createOrUpdate',
    target: `${service}/backends/pool1`,
    body: { properties: { type: 'Pool', pool: { services: members.map((id) => ({ id })) } } },
  });

describe('checkScope', () => {
  const single = (id: string) =>
    request({ operation: 'createOrUpdate', target: id, body: { properties: { url: 'https://x/', protocol: 'http' } } });

  it('passes a request inside the scopes, and everything when no scope is configured', () => {
    expect(checkScope(single(`${APIM1}/backends/b1`), [APIM1])).toBeUndefined();
    expect(checkScope(single(`${APIM10}/backends/b1`), [])).toBeUndefined();
  });

  it('refuses a target outside with ScopeNotAllowed naming the target', () => {
    expect(checkScope(single(`${APIM10}/backends/b1`), [APIM1])).toEqual({
      code: 'ScopeNotAllowed',
      message: expect.any(String),
      details: [{ code: 'ScopeNotAllowed', target: 'target', message: expect.any(String) }],
    });
  });

  it('checks delete and reconnect targets as well', () => {
    const del = request({ operation: 'delete', target: `${APIM10}/backends/b1` });
    const reconnect = request({ operation: 'reconnect', target: `${APIM10}/backends/b1` });
    expect(checkScope(del, [APIM1])?.code).toBe('ScopeNotAllowed');
    expect(checkScope(reconnect, [APIM1])?.code).toBe('ScopeNotAllowed');
  });

  it('passes a pool whose members are all inside', () => {
    expect(checkScope(pool(APIM1, [`${APIM1}/backends/m1`, `${APIM1}/backends/m2`]), [APIM1])).toBeUndefined();
  });

  it('refuses pool members outside the scopes, each by its own path, even when the pool itself is inside', () => {
    // Backend-level scopes: the pool and m0 are allowed, m1 and m2 are not.
    const narrow = [`${APIM1}/backends/pool1`, `${APIM1}/backends/m0`];
    const request = pool(APIM1, [`${APIM1}/backends/m0`, `${APIM1}/backends/m1`, `${APIM1}/backends/m2`]);
    const error = checkScope(request, narrow);
    expect(error?.code).toBe('ScopeNotAllowed');
    expect(error?.details?.map((d) => d.target)).toEqual([
      'body.properties.pool.services[1].id',
      'body.properties.pool.services[2].id',
    ]);
  });

  it('names both the target and a member when both are outside', () => {
    const error = checkScope(pool(APIM10, [`${APIM10}/backends/m0`]), [APIM1]);
    expect(error?.details?.map((d) => d.target)).toEqual(['target', 'body.properties.pool.services[0].id']);
  });

  it('applies the segment boundary to pool members too', () => {
    const error = checkScope(pool(APIM10, [`${APIM10}/backends/m0`]), [`${APIM10}/backends/pool1`]);
    expect(error?.details?.map((d) => d.target)).toEqual(['body.properties.pool.services[0].id']);
  });
});
