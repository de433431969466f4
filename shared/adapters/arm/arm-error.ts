/**
 * The ARM client's one failure type, {@link ArmError} (declared with the port, in `arm-ports.ts`), and the few places
 * a failure of another shape becomes one: ARM's error body, an answer refused without one, and whatever the HTTP
 * client threw. Nothing else in the client parses errors.
 */
import type { ErrorBody, ErrorDetail } from '../../domain/contract/error-response';
import type { ArmError } from '../../app/arm-ports';
import { isRecord } from '../../domain/is-record';

export type { ArmError } from '../../app/arm-ports';

/** True for every failure of an ARM call (`armError` or `transient`), false for a success or a raw answer. */
export function isArmError(value: unknown): value is ArmError {
  if (typeof value !== 'object' || value === null) return false;
  const { kind } = value as { kind?: unknown };
  return kind === 'armError' || kind === 'transient';
}

/** The `code` a send that the caller aborted reports (in traces) in place of an error code. */
export const ABORTED_SEND_CODE = 'Aborted';

/** Largest message kept from a thrown error in a synthesised error body. */
const MAX_ERROR_MESSAGE = 300;

/** ARM's `error` (or a bare `{code, message}`), kept leniently: what is well-formed passes through unchanged. */
export function errorBodyOf(body: unknown): ErrorBody | undefined {
  const candidate = isRecord(body) && isRecord(body.error) ? body.error : body;
  if (!isRecord(candidate) || typeof candidate.code !== 'string' || typeof candidate.message !== 'string') {
    return undefined;
  }
  const error: ErrorBody = { code: candidate.code, message: candidate.message };
  if (typeof candidate.target === 'string') error.target = candidate.target;
  if (Array.isArray(candidate.details)) {
    const details: ErrorDetail[] = [];
    for (const d of candidate.details) {
      if (!isRecord(d) || typeof d.code !== 'string' || typeof d.message !== 'string') continue;
      details.push(
        typeof d.target === 'string'
          ? { code: d.code, message: d.message, target: d.target }
          : { code: d.code, message: d.message },
      );
    }
    error.details = details;
  }
  return error;
}

/** The error body of a refusal: ARM's own, or one synthesised from the status when ARM sent none. */
export function refusalBodyOf(status: number, error: ErrorBody | undefined): ErrorBody {
  if (error !== undefined) return error;
  if (status === 412) {
    return { code: 'PreconditionFailed', message: 'The ETag in If-Match no longer matches the backend.' };
  }
  return { code: `HttpStatus${status}`, message: `ARM answered HTTP ${status} without an error body.` };
}

/**
 * What a send that ended without an answer failed with, as an error body: `code` is the thrown error's code (Node's
 * `ECONNRESET`, a `RestError` code, a credential error's name), `message` says it for the transient result.
 */
export function sendErrorOf(thrown: unknown): ErrorBody {
  const code = errorCodeOf(thrown);
  const text = thrown instanceof Error ? thrown.message : String(thrown);
  const message = text.length > MAX_ERROR_MESSAGE ? `${text.slice(0, MAX_ERROR_MESSAGE)}…` : text;
  return { code, message: `${code}: ${message}` };
}

/** The code of a thrown error: its `code`, else its `name`. */
export function errorCodeOf(thrown: unknown): string {
  if (isRecord(thrown) || thrown instanceof Error) {
    const { code, name } = thrown as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof name === 'string' && name !== '') return name;
  }
  return 'UnknownError';
}
