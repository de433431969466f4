/**
 * The wire format of one ARM exchange: a {@link RequestSpec} encoded as a pipeline request, and a pipeline response
 * decoded into an {@link Answer} (headers the product reports, the JSON body, ARM's error, the retry advice).
 */
import {
  createHttpHeaders,
  createPipelineRequest,
  type HttpHeaders,
  type HttpMethods,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import type { ErrorBody } from '../../domain/contract/error-response';
import type { ArmHeaders } from '../../app/arm-ports';
import type { Clock } from '../../app/clock-ports';
import { errorBodyOf } from './arm-error';
import { retryAfterMsFromHeaders } from './retry-after';
import type { AttemptOutcome } from './retry-strategy';

/** One request of a call, as the operation or write strategy that owns it describes it. */
export interface RequestSpec {
  method: HttpMethods;
  url: string;
  body?: string;
  /** Set by the strategy that owns the request; it may re-read and change it between sends. */
  ifMatch?: string;
  /** `operation` sends count in `attempts`, `read` sends (ETag reads, outcome checks) in `reads`. */
  role: 'operation' | 'read';
  /** Never re-sent once a send may have been applied (the call then ends `outcomeUnknown`). */
  atMostOnce?: boolean;
  /** Sends of this request so far: the retry loop's count, kept across the outcome checks of its strategy. */
  sends: number;
}

/** A complete HTTP answer from ARM, decoded. Not yet a result: the operation decides what it means. */
export interface Answer {
  kind: 'answer';
  status: number;
  headers: ArmHeaders;
  body: unknown;
  /** ARM's ErrorResponse `error`, when a non-2xx body carried one. */
  error?: ErrorBody;
  /** What the retry decision sees. */
  outcome: Extract<AttemptOutcome, { kind: 'status' }>;
  /** The response's own headers, for the write limiter's reading of the rate-limit headers. */
  raw: HttpHeaders;
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The pipeline request for one send of `spec` (a fresh one per send: the pipeline's policies mutate it). */
export function encodeRequest(spec: RequestSpec, correlationId: string): PipelineRequest {
  const headers = createHttpHeaders();
  headers.set('accept', 'application/json');
  headers.set('x-ms-correlation-request-id', correlationId);
  if (spec.body !== undefined) headers.set('content-type', 'application/json');
  if (spec.ifMatch !== undefined) headers.set('if-match', spec.ifMatch);
  const request = createPipelineRequest(
    spec.body === undefined
      ? { url: spec.url, method: spec.method, headers }
      : { url: spec.url, method: spec.method, headers, body: spec.body },
  );
  // What setClientRequestIdPolicy would set, without a policy (an async step) per request.
  headers.set('x-ms-client-request-id', request.requestId);
  return request;
}

/** Decodes ARM's answer. The clock dates a Retry-After given as an HTTP date. */
export function decodeAnswer(response: PipelineResponse, correlationId: string, clock: Clock): Answer {
  const { status } = response;
  const raw = response.headers;
  const headers: ArmHeaders = {};
  const etag = raw.get('etag');
  if (etag !== undefined) headers.etag = etag;
  const requestId = raw.get('x-ms-request-id');
  if (requestId !== undefined) headers.requestId = requestId;
  headers.correlationRequestId = raw.get('x-ms-correlation-request-id') ?? correlationId;

  let body: unknown;
  const text = response.bodyAsText;
  if (text !== undefined && text !== null && text !== '') {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = undefined; // not JSON (an HTML page from a proxy, say): treated as no body
    }
  }
  if (isSuccess(status)) return { kind: 'answer', status, headers, body, outcome: { kind: 'status', status }, raw };
  const error = errorBodyOf(body);
  const retryAfterMs = retryAfterMsFromHeaders(raw, clock.now());
  const answer: Answer = {
    kind: 'answer',
    status,
    headers,
    body,
    outcome: { kind: 'status', status, errorCode: error?.code, retryAfterMs },
    raw,
  };
  if (error) answer.error = error;
  return answer;
}
