/**
 * Composition of the circuit-breaker use case: its ports from the app's services (the ARM client, the change engine
 * with its ledger and publisher, the breaker records beside the ledger, the results topic).
 */
import type { BreakerPorts, BreakerSettings } from '../shared/app/breaker-ports';
import { backendResourceId } from '../shared/domain/backend-id';
import type { Config } from '../shared/config/settings';
import { processChange } from '../shared/app/process-change';
import type { Logger } from '../shared/app/logger-ports';
import { processDeps, type AppServices } from './composition-root';

export function breakerSettings(config: Config): BreakerSettings {
  return {
    mode: config.circuitBreaker.action,
    maxDrains: config.circuitBreaker.maxDrains,
    windowMs: config.circuitBreaker.windowMs,
    allowedScopes: config.allowedScopes,
    deadlineMs: config.deadlineMs,
    source: config.eventSource,
  };
}

export function breakerPorts(svc: AppServices, logger: Logger): BreakerPorts {
  const deps = processDeps(svc, logger);
  return {
    arm: svc.arm,
    // Each pool write is a change request like any other: validated, scope-checked, claimed in the ledger under its
    // requestId, conditional on ifMatch, recorded and published.
    applyWrite: async (write) => {
      const processed = await processChange(
        {
          requestId: write.requestId,
          operation: 'update',
          target: backendResourceId(write.target),
          ifMatch: write.ifMatch,
          body: write.body,
        },
        { fallbackRequestId: write.requestId, onTransient: 'redeliver', onPublishFailure: 'defer' },
        deps,
      );
      if (processed.kind === 'outcome') return { kind: 'outcome', outcome: processed.outcome };
      if (processed.kind === 'redeliver') {
        return { kind: 'retryLater', reason: processed.outcome.error?.code ?? 'transient failure' };
      }
      return { kind: 'retryLater', reason: 'the pool write is being applied by another delivery' };
    },
    store: svc.breaker.store,
    publisher: svc.breaker.publisher,
    clock: svc.clock,
    logger,
    ...(svc.telemetry.enabled ? { telemetry: svc.telemetry } : {}),
  };
}
