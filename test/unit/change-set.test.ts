import { setHttpStatus } from '../../functions/http-answers';
import { prepareChangeSet } from '../../shared/app/apply-change-set';
import { isChangeSetInput, parseChangeSet, type SetOutcome } from '../../shared/domain/contract/change-set';
import { currentState, memberKey } from '../../shared/domain/set-graph';
import { setProblems } from '../../shared/domain/set-rules';
import { systemClock } from '../../shared/adapters/system-clock';

const SUB = '00000000-0000-0000-0000-000000000000';
const SERVICE = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/s1`;
const put = (name: string) => ({
  operation: 'createOrUpdate',
  target: `${SERVICE}/backends/${name}`,
  body: { properties: { url: `https://${name}/`, protocol: 'http' } },
});

describe('change set contract', () => {
  it('tells a set from a single change by `changes`', () => {
    expect(isChangeSetInput({ changes: [] })).toBe(true);
    expect(isChangeSetInput({ operation: 'delete' })).toBe(false);
  });

  it("names every problem with its path, each change by today's rules", () => {
    const parsed = parseChangeSet({
      requestId: 'ok',
      changes: [put('a'), { ...put('b'), requestId: 'x', body: { properties: { url: '', protocol: 'http' } } }],
      extra: 1,
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.details?.map((d) => d.target)).toEqual(
      expect.arrayContaining(['changes[1].requestId', 'changes[1].body.properties.url', 'extra']),
    );
  });

  it('validates each change at ARM_API_VERSION unless the change names its own apiVersion', () => {
    const affinity = {
      ...put('a'),
      body: {
        properties: {
          type: 'Pool',
          pool: { services: [{ id: '/backends/m1' }], sessionAffinity: { sessionId: { source: 'Cookie', name: 's' } } },
        },
      },
    };
    expect(parseChangeSet({ changes: [affinity] }).ok).toBe(false);
    const atSetting = parseChangeSet({ changes: [affinity] }, { defaultApiVersion: '2024-10-01-preview' });
    expect(atSetting.ok && atSetting.set.changes[0]?.apiVersion).toBe('2024-10-01-preview');
    const own = parseChangeSet(
      { changes: [{ ...affinity, apiVersion: '2024-05-01' }] },
      { defaultApiVersion: '2024-10-01-preview' },
    );
    expect(own.ok).toBe(false);
  });

  it('takes 1 to 50 changes', () => {
    expect(parseChangeSet({ changes: [] }).ok).toBe(false);
    expect(parseChangeSet({ changes: Array.from({ length: 51 }, (_, i) => put(`b${i}`)) }).ok).toBe(false);
    expect(parseChangeSet({ changes: Array.from({ length: 50 }, (_, i) => put(`b${i}`)) }).ok).toBe(true);
  });

  it('refuses deletes without ALLOW_DELETE and targets outside ALLOWED_SCOPES, under the change path', () => {
    const settings = { allowDelete: false, deadlineMs: 1000, skipUnchanged: true, allowedScopes: [`${SERVICE}`] };
    const other = `/subscriptions/${SUB}/resourceGroups/rg2/providers/Microsoft.ApiManagement/service/s2/backends/x`;
    const prepared = prepareChangeSet(
      {
        requestId: 'p',
        changes: [put('a'), { operation: 'delete', target: `${SERVICE}/backends/b` }, { ...put('c'), target: other }],
      },
      'fallback',
      { settings, clock: systemClock },
    );
    expect(prepared.ok).toBe(false);
    if (prepared.ok) return;
    expect(prepared.outcome.error?.code).toBe('OperationNotAllowed');
    expect(prepared.outcome.error?.details?.map((d) => d.target)).toEqual([
      'changes[1].operation',
      'changes[2].target',
    ]);
    expect(prepared.outcome.items.map((i) => i.requestId)).toEqual(['p/0', 'p/1', 'p/2']);
  });
});

describe('set rules', () => {
  const target = (name: string) => ({
    subscriptionId: SUB,
    resourceGroupName: 'rg1',
    serviceName: 's1',
    backendId: name,
  });

  it('refuses two changes to one backend (ids compare case-insensitively)', () => {
    const changes = [
      { operation: 'reconnect' as const, target: target('A'), dryRun: false },
      { operation: 'reconnect' as const, target: target('a'), dryRun: false },
    ];
    expect(setProblems(changes, currentState([]))).toEqual([
      expect.objectContaining({ code: 'DuplicateTarget', target: 'changes[1].target' }),
    ]);
  });

  it('resolves relative member ids against the pool’s own service', () => {
    expect(memberKey(target('p'), '/backends/M1')).toBe(`${SERVICE}/backends/M1`.toLowerCase());
    expect(memberKey(target('p'), `${SERVICE}/backends/m1`)).toBe(`${SERVICE}/backends/m1`.toLowerCase());
    expect(memberKey(target('p'), 'nonsense')).toBeUndefined();
  });
});

describe('HTTP status of a set', () => {
  const base: SetOutcome = {
    requestId: 's',
    status: 'succeeded',
    atomic: false,
    order: [0, 1],
    items: [],
    durationMs: 1,
  };
  const item = (index: number, status: 'succeeded' | 'failed' | 'skipped', extra = {}) => ({
    requestId: `s/${index}`,
    index,
    status,
    attempts: 1,
    durationMs: 1,
    ...extra,
  });

  it('is 200 when every change succeeded, else the failing change’s own status', () => {
    expect(setHttpStatus({ ...base, items: [item(0, 'succeeded'), item(1, 'succeeded')] })).toBe(200);
    const throttled = item(0, 'failed', { error: { code: 'Throttled', message: 'm' }, httpStatus: 429 });
    expect(setHttpStatus({ ...base, status: 'failed', order: [0, 1], items: [throttled, item(1, 'skipped')] })).toBe(
      429,
    );
    const refused = item(1, 'failed', { httpStatus: 409, error: { code: 'Conflict', message: 'm' } });
    expect(setHttpStatus({ ...base, status: 'rolledBack', items: [item(0, 'succeeded'), refused] })).toBe(409);
    const conflict = { ...base, status: 'rejected' as const, error: { code: 'RequestIdConflict', message: 'm' } };
    expect(setHttpStatus(conflict)).toBe(409);
  });
});
