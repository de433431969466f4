/**
 * Bounds on the size of an error body. A request with thousands of problems (143 KB of unknown keys) once produced a
 * 1.5 MB answer and a result event over Service Bus's 1 MiB message limit, so the event could never be published.
 * The caller still learns how many problems there were (the summary message says so, and a last detail counts the
 * ones left out).
 */
import type { ErrorBody, ErrorDetail } from './error-response';

/** Details kept in one error body. */
export const MAX_ERROR_DETAILS = 50;
/** Characters kept of one message or target (a path can quote a key of any length). */
export const MAX_ERROR_TEXT = 512;

function clip(text: string): string {
  return text.length <= MAX_ERROR_TEXT ? text : `${text.slice(0, MAX_ERROR_TEXT - 1)}…`;
}

function clipDetail(detail: ErrorDetail): ErrorDetail {
  const out: ErrorDetail = { code: clip(detail.code), message: clip(detail.message) };
  if (detail.target !== undefined) out.target = clip(detail.target);
  return out;
}

/** The error body with at most {@link MAX_ERROR_DETAILS} details (plus one counting the rest) and clipped texts. */
export function capErrorBody(error: ErrorBody): ErrorBody {
  const out: ErrorBody = { code: clip(error.code), message: clip(error.message) };
  if (error.target !== undefined) out.target = clip(error.target);
  if (error.details !== undefined) {
    const kept = error.details.slice(0, MAX_ERROR_DETAILS).map(clipDetail);
    const left = error.details.length - kept.length;
    if (left > 0) {
      kept.push({
        code: 'MoreProblems',
        message: `${left} more problem${left === 1 ? '' : 's'} not listed (${error.details.length} in all).`,
      });
    }
    out.details = kept;
  }
  return out;
}
