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
