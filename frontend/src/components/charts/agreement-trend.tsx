export interface TrendPoint {
  /** When the figure was computed (ISO time); points are drawn in this order. */
  at: string;
  value: number;
  low: number | null;
  high: number | null;
  /** Items the figure rests on. */
  items: number;
}

const W = 560;
const H = 200;
const PAD = { left: 44, right: 16, top: 14, bottom: 34 };

const day = (at: string) => new Date(at).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });

/**
 * A chance-corrected agreement figure (κ or α, −1…1) over time, one marker per computation, with
 * its 95 % interval as a band. The y axis starts at 0 unless a figure or interval falls below.
 */
export function AgreementTrend({ points, name }: { points: TrendPoint[]; name: string }) {
  const sorted = [...points].sort((a, b) => a.at.localeCompare(b.at));
  const lowest = Math.min(0, ...sorted.map((p) => p.low ?? p.value));
  const yMin = Math.max(-1, Math.floor(lowest * 5) / 5);
  const sx = (i: number) => PAD.left + (sorted.length > 1 ? i / (sorted.length - 1) : 0.5) * (W - PAD.left - PAD.right);
  const sy = (y: number) => PAD.top + (1 - (y - yMin) / (1 - yMin)) * (H - PAD.top - PAD.bottom);
  const ticks = Array.from({ length: Math.round((1 - yMin) * 5) + 1 }, (_, i) => Math.round((yMin + i / 5) * 10) / 10);
  const line = sorted.map((p, i) => `${i ? 'L' : 'M'}${sx(i).toFixed(1)},${sy(p.value).toFixed(1)}`).join(' ');
  const withBand = sorted.map((p, i) => ({ p, i })).filter(({ p }) => p.low != null && p.high != null);
  const band = withBand.length
    ? [...withBand.map(({ p, i }) => `${sx(i).toFixed(1)},${sy(p.high ?? p.value).toFixed(1)}`), ...withBand.reverse().map(({ p, i }) => `${sx(i).toFixed(1)},${sy(p.low ?? p.value).toFixed(1)}`)].join(' ')
    : '';
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${name} over time`}>
      {ticks.map((t) => (
        <g key={`y${t}`}>
          <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={sy(t)} y2={sy(t)} />
          <text x={PAD.left - 8} y={sy(t) + 4} textAnchor="end">
            {t.toFixed(1)}
          </text>
        </g>
      ))}
      <line className="axis" x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} />
      {sorted.length > 0 && (
        <>
          <text x={sx(0)} y={H - PAD.bottom + 16} textAnchor="start">
            {day(sorted[0].at)}
          </text>
          {sorted.length > 1 && (
            <text x={sx(sorted.length - 1)} y={H - PAD.bottom + 16} textAnchor="end">
              {day(sorted[sorted.length - 1].at)}
            </text>
          )}
        </>
      )}
      {band && <polygon className="band" points={band} data-testid="trend-band" />}
      <path className="line" d={line} data-testid="trend-path" />
      {sorted.map((p, i) => (
        <circle key={p.at} className="dot" cx={sx(i)} cy={sy(p.value)} r={4}>
          <title>{`${new Date(p.at).toLocaleString()} · ${name} ${p.value.toFixed(2)}${p.low != null && p.high != null ? ` (95 % interval ${p.low.toFixed(2)} to ${p.high.toFixed(2)})` : ''} on ${p.items} items`}</title>
        </circle>
      ))}
    </svg>
  );
}
