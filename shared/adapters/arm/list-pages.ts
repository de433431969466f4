/**
 * Pagination: a backend collection read page by page, following ARM's `nextLink` until it is empty. A nextLink to
 * another host is refused (the bearer token must never be sent elsewhere), as is one already followed (a loop).
 */
import type { ArmResult, BackendList } from '../../app/arm-ports';
import { isRecord } from '../../domain/is-record';
import type { CallState } from './arm-call';
import { isSuccess } from './arm-codec';
import type { ArmContext } from './arm-context';
import { isArmError } from './arm-error';
import { sendWithRetries } from './retry-policy';

/** Where the pages are: the first page's URL, and what a nextLink must stay within. */
export interface PageSource {
  firstUrl: string;
  /** The client's endpoint (a relative nextLink resolves against it); its origin is the only one followed. */
  endpoint: string;
  endpointOrigin: string;
  /** Added to a nextLink that carries none. */
  apiVersion: string;
}

export async function listPages(ctx: ArmContext, call: CallState, source: PageSource): Promise<ArmResult<BackendList>> {
  const value: unknown[] = [];
  const seen = new Set<string>();
  let url = source.firstUrl;
  for (;;) {
    const answer = await sendWithRetries(ctx, call, { method: 'GET', url, role: 'operation', sends: 0 });
    if (isArmError(answer)) return answer;
    if (!isSuccess(answer.status)) return call.refused(answer);
    const page = answer.body;
    if (!isRecord(page) || !Array.isArray(page.value)) {
      return call.refused(answer, {
        code: 'InvalidResponse',
        message: 'ARM answered a list page without a `value` array.',
      });
    }
    for (const item of page.value as unknown[]) value.push(item);
    const next = page.nextLink;
    if (typeof next !== 'string' || next === '') return call.ok(answer.status, answer.headers, { value });
    const nextUrl = nextPageUrl(next, source);
    if (nextUrl === undefined || seen.has(nextUrl)) {
      return call.refused(answer, {
        code: 'InvalidNextLink',
        message: 'ARM answered a nextLink this client will not follow.',
      });
    }
    seen.add(nextUrl);
    url = nextUrl;
  }
}

/** The URL of the next page, or undefined when ARM's nextLink points elsewhere. */
function nextPageUrl(nextLink: string, source: PageSource): string | undefined {
  let url: URL;
  try {
    url = new URL(nextLink, source.endpoint);
  } catch {
    return undefined;
  }
  if (url.origin !== source.endpointOrigin) return undefined;
  if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', source.apiVersion);
  return url.toString();
}
