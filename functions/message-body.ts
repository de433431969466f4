/** What the Service Bus triggers read from a message and its metadata, and how they ask for a redelivery. */

/** The message body as JSON: the host hands objects already parsed, strings and bytes as they came. */
export function decodeBody(message: unknown): unknown {
  if (typeof message === 'string' || Buffer.isBuffer(message) || message instanceof Uint8Array) {
    try {
      return JSON.parse(Buffer.from(message).toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }
  return message;
}

/**
 * An integer from trigger metadata. The Functions host passes numbers; some worker versions pass 64-bit values as
 * strings or as Long objects ({ low, high }); all are accepted.
 */
export function metadataInt(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (typeof value === 'bigint') return Number(value);
  if (value !== null && typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high } = value;
    if (typeof low === 'number' && typeof high === 'number') return high * 2 ** 32 + (low >>> 0);
  }
  return undefined;
}

/** Thrown so Service Bus redelivers the message (abandon): the change failed transiently or is being applied. */
export class RedeliverError extends Error {
  override readonly name = 'RedeliverError';
}
