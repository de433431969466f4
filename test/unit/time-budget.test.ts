import { loadConfig } from '../../shared/config/settings';
import { FUNCTION_TIMEOUT_MS, timeBudget } from '../../shared/config/time-budget';

describe('the time budget', () => {
  it('holds at the largest settings allowed: a change, its lease margin and a busy wait end before the host kills it', () => {
    const budget = timeBudget(
      loadConfig({ CHANGE_DEADLINE_SECONDS: '230', HTTP_SYNC_SECONDS: '150', ARM_ATTEMPT_TIMEOUT_SECONDS: '600' }),
    );
    // A queue invocation: the change, then the ledger, publishing and the pause before a redelivery.
    expect(budget.changeDeadlineMs + budget.invocationMarginMs / 2).toBeLessThan(FUNCTION_TIMEOUT_MS);
    // A lease outlives the change it guards, so a live delivery is never overtaken by a redelivery.
    expect(budget.leaseMs).toBeGreaterThan(budget.changeDeadlineMs);
  });

  it('derives the lease from the change deadline and keeps the HTTP budget as set', () => {
    const budget = timeBudget(loadConfig({ CHANGE_DEADLINE_SECONDS: '100', HTTP_SYNC_SECONDS: '20' }));
    expect(budget).toMatchObject({ changeDeadlineMs: 100_000, httpSyncMs: 20_000, leaseMs: 160_000 });
  });
});
