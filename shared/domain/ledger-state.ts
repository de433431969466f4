/** The states of a ledger record (see shared/app/ledger-ports.ts for the lifecycle). */
export type LedgerState = 'received' | 'applying' | 'succeeded' | 'failed' | 'rejected';

/** The terminal states: the outcome is final and later deliveries get it back instead of applying again. */
export const TERMINAL_STATES: ReadonlySet<LedgerState> = new Set(['succeeded', 'failed', 'rejected']);

/** The record changed since the caller read it: another delivery owns it now. */
export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';
  constructor(
    readonly requestId: string,
    message = `The ledger record of request '${requestId}' was changed by another delivery.`,
  ) {
    super(message);
  }
}
