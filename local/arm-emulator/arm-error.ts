import type { ErrorBody, ErrorDetail } from '../../shared/contract/error-response';

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
 * API Management's validation failure: 400 `ValidationError` listing each bad field.
 * A single detail becomes the top-level message too, as the service does for one-field errors.
 */
export function validationError(details: ErrorDetail[]): EmulatorResponse {
  const only = details.length === 1 ? details[0] : undefined;
  const message = only ? only.message : 'One or more fields contain incorrect values:';
  return armError(400, 'ValidationError', message, details);
}

const DEFAULT_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'AuthenticationFailed',
  403: 'AuthorizationFailed',
  404: 'ResourceNotFound',
  408: 'RequestTimeout',
  409: 'PessimisticConcurrencyConflict',
  412: 'PreconditionFailed',
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
