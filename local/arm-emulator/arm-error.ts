import type { ErrorBody, ErrorDetail } from '../../shared/domain/contract/error-response';

/** What a handler answers: status, headers and an optional JSON body (absent = empty body). */
export interface EmulatorResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** An ARM ErrorResponse: `{"error":{code,message,details?}}`. */
export function armError(status: number, code: string, message: string, details?: ErrorDetail[]): EmulatorResponse {
  const error: ErrorBody = details === undefined ? { code, message } : { code, message, details };
  return { status, headers: {}, body: { error } };
}

/**
 * API Management's validation failure: 400 `ValidationError` listing each bad field, with the generic message even
 * for one detail and targets relative to `properties` (`url`, `credentials.certificate`), as recorded.
 */
export function validationError(details: ErrorDetail[]): EmulatorResponse {
  return armError(400, 'ValidationError', 'One or more fields contain incorrect values:', details);
}

const DEFAULT_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'AuthenticationFailed',
  403: 'AuthorizationFailed',
  404: 'ResourceNotFound',
  408: 'RequestTimeout',
  409: 'PessimisticConcurrencyConflict',
  412: 'PreconditionFailed',
  422: 'Timeout',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** The error code a fault answers with when the test named none. */
export function defaultErrorCode(status: number): string {
  return DEFAULT_CODES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}
