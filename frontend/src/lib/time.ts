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
