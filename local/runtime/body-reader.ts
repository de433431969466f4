import type { IncomingMessage } from 'node:http';

/** Thrown when a request body is larger than allowed: answer 413 and close the connection. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`The body is larger than ${limit} bytes.`);
  }
}

/**
 * Reads a request body of at most `maxBytes`, as raw bytes. A declared Content-Length over the limit is refused
 * before a byte is read; a body without one (chunked) is read only until it passes the limit — never processed as
 * its valid prefix.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw new BodyTooLargeError(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
