/**
 * Durations of the circuit-breaker feature. API Management writes `tripDuration` as a .NET TimeSpan (`hh:mm:ss`,
 * optionally `d.hh:mm:ss.fffffff`), not ISO 8601; we publish ISO 8601 and read windows (`CIRCUIT_BREAKER_WINDOW`)
 * as ISO 8601. Pure.
 */

const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

/** The TimeSpan as milliseconds, or undefined when it is not one (minutes and seconds must be below 60). */
export function timeSpanToMs(value: string): number | undefined {
  const m = TIMESPAN.exec(value.trim());
  if (m === null) return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = ''] = m;
  if (Number(hours) > 23 && m[1] !== undefined) return undefined; // with a day part, hours wrap at 24
  if (Number(minutes) > 59 || Number(seconds) > 59) return undefined;
  const fractionMs = fraction === '' ? 0 : Number(`0.${fraction}`) * 1000;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000 + fractionMs;
}

/** Milliseconds as an ISO 8601 duration using days, hours, minutes and seconds: `PT1S`, `P1DT2H`, `PT0S`. */
export function msToIsoDuration(ms: number): string {
  const totalMs = Math.max(0, Math.round(ms));
  const days = Math.floor(totalMs / 86_400_000);
  const hours = Math.floor((totalMs % 86_400_000) / 3_600_000);
  const minutes = Math.floor((totalMs % 3_600_000) / 60_000);
  const secondsMs = totalMs % 60_000;
  const seconds = secondsMs % 1000 === 0 ? String(secondsMs / 1000) : (secondsMs / 1000).toFixed(3).replace(/0+$/, '');
  let time = '';
  if (hours > 0) time += `${hours}H`;
  if (minutes > 0) time += `${minutes}M`;
  if (secondsMs > 0) time += `${seconds}S`;
  if (days === 0 && time === '') return 'PT0S';
  return `P${days > 0 ? `${days}D` : ''}${time === '' ? '' : `T${time}`}`;
}

/** A TimeSpan (`hh:mm:ss`) as ISO 8601, or undefined when it is not a TimeSpan. */
export function timeSpanToIso(value: string): string | undefined {
  const ms = timeSpanToMs(value);
  return ms === undefined ? undefined : msToIsoDuration(ms);
}

const ISO = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * An ISO 8601 duration of weeks, days, hours, minutes and seconds as milliseconds; undefined for anything else
 * (years and months have no fixed length, so a window cannot use them).
 */
export function isoDurationToMs(value: string): number | undefined {
  const m = ISO.exec(value.trim().toUpperCase());
  if (m === null || value.trim().toUpperCase() === 'P' || value.trim().toUpperCase().endsWith('T')) return undefined;
  const [, weeks = '0', days = '0', hours = '0', minutes = '0', seconds = '0'] = m;
  return (
    (((Number(weeks) * 7 + Number(days)) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000
  );
}
