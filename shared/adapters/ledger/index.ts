/**
 * The change ledger: exactly-once effects and status per requestId. See `ledger-types.ts` for the lifecycle and
 * `table-ledger.ts` for the Azure Table implementation.
 *
 * Typical use by a trigger:
 * ```ts
 * const claim = await ledger.claim({ requestId, fingerprint: fingerprintRequest(request), leaseMs, now });
 * switch (claim.kind) {
 *   case 'conflict': return reject(409, 'RequestIdConflict');
 *   case 'busy': throw retryLater();                          // redelivery / 409 or 503 over HTTP
 *   case 'done': outcome = claim.record.outcome; break;       // re-publish if !claim.record.published
 *   case 'claimed': outcome = await apply(); record = transient ? await ledger.release(...) : await ledger.complete(...);
 * }
 * ```
 */
export { fingerprintRequest, canonicalJson } from '../../domain/fingerprint';
export { ledgerPartitionKey, LEDGER_ROW_KEY } from './ledger-entity';
export { LedgerConflictError, type ChangeLedger, type LedgerRecord } from '../../app/ledger-ports';
export { createTableLedger } from './table-ledger';
