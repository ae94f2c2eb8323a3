// Times as people read them: "5 minutes ago" for recent ones, the date for older ones.

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
];

/** The API sends UTC; a time without a zone (SQLite) is UTC too. */
export function parseTime(iso: string): Date {
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
}

export function timeAgo(iso: string, now: number = Date.now()): string {
  const at = parseTime(iso);
  let amount = (at.getTime() - now) / 1000;
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(amount) < size) return format.format(Math.round(amount), unit);
    amount /= size;
  }
  return at.toLocaleDateString('en', { year: 'numeric', month: 'short', day: 'numeric' });
}

/** Time left as people say it: "about 40 s left", "about 3 min left"; '' when there is no estimate yet. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 5) return 'almost done';
  if (seconds < 90) return `about ${Math.round(seconds / 5) * 5} s left`;
  if (seconds < 90 * 60) return `about ${Math.round(seconds / 60)} min left`;
  return `about ${(seconds / 3600).toFixed(1)} h left`;
}

/** A measured rate: "12 items/s", "0.8 items/s"; '' without one. */
export function formatRate(perSecond: number | null | undefined, unit = 'items'): string {
  if (perSecond == null || !Number.isFinite(perSecond) || perSecond <= 0) return '';
  return `${perSecond >= 10 ? Math.round(perSecond).toLocaleString() : perSecond.toFixed(1)} ${unit}/s`;
}
