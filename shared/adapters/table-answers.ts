/** What the Table Storage adapters (ledger, breaker store) read from the SDK's answers and errors. */

/** The HTTP status of a Table Storage error, if it carries one. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The ETag of a write's answer; every conditional write that follows needs it. */
export function requireEtag(etag: string | undefined): string {
  if (etag === undefined) throw new Error('The table service answered a write without an ETag.');
  return etag;
}
