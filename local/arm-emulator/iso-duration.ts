const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

/** True for an ISO 8601 duration such as `PT3S`, `PT2M` or `P1DT2H` (what ARM's `format: duration` accepts). */
export function isIsoDuration(value: unknown): boolean {
  return typeof value === 'string' && DURATION.test(value);
}
