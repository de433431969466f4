/**
 * Matches a Functions route template (`backend-changes/{requestId}`) against a request path under `/api/`, as the
 * host does: literal segments compare case-insensitively, `{name}` captures one decoded segment.
 * Returns the captured parameters, or undefined when the path does not match.
 */
export function matchRoute(template: string, path: string): Record<string, string> | undefined {
  if (!path.startsWith('/api/')) return undefined;
  const want = template.split('/');
  const got = path.slice('/api/'.length).replace(/\/$/, '').split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    const param = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(w);
    if (param) {
      let value: string;
      try {
        value = decodeURIComponent(g);
      } catch {
        return undefined;
      }
      if (value === '') return undefined;
      params[param[1]!] = value;
    } else if (w.toLowerCase() !== g.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}
