import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpRequest, HttpResponse, type HttpResponseInit } from '@azure/functions';
import { readBody } from './body-reader';

/**
 * Reads a Node request into the `HttpRequest` the Functions host would pass: the body as the raw bytes received
 * (at most `maxBytes`, else {@link BodyTooLargeError}), so a signature is checked over exactly what was sent.
 */
export async function toHttpRequest(
  req: IncomingMessage,
  baseUrl: string,
  maxBytes: number,
  params: Record<string, string> = {},
): Promise<HttpRequest> {
  const body = await readBody(req, maxBytes);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const init: ConstructorParameters<typeof HttpRequest>[0] = {
    method: req.method ?? 'GET',
    url: new URL(req.url ?? '/', baseUrl).toString(),
    headers,
    params,
  };
  if (body.length > 0) init.body = { bytes: body };
  return new HttpRequest(init);
}

/** Writes a handler's `HttpResponseInit` the way the host serialises it. */
export async function writeHttpResponse(res: ServerResponse, init: HttpResponseInit): Promise<void> {
  const response = new HttpResponse(init);
  const body = Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  res.end(body);
}

/** Writes a small JSON response. */
export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
