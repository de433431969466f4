/**
 * ETags as API Management spells them: a quoted base64 of an 8-byte version counter (`"AAAAAAAAAAE="`),
 * and `If-Match` evaluation against them.
 */

/** Formats a version counter as a quoted ETag. */
export function formatEtag(version: number): string {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(BigInt(version));
  return `"${buf.toString('base64')}"`;
}

function normalize(tag: string): string {
  let t = tag.trim();
  if (t.startsWith('W/')) t = t.slice(2);
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1);
  return t;
}

/** True when the header is the wildcard `*`. */
export function isWildcard(ifMatch: string): boolean {
  return ifMatch.trim() === '*';
}

/**
 * True when `If-Match` names the current ETag. Clients send it quoted or bare (the HEAD example shows it bare),
 * possibly as a list; the comparison ignores quotes and a weak prefix.
 */
export function ifMatchAccepts(ifMatch: string, current: string): boolean {
  if (isWildcard(ifMatch)) return true;
  const want = normalize(current);
  return ifMatch.split(',').some((candidate) => normalize(candidate) === want);
}
