export interface CurvePoint {
  x: number;
  y: number;
  label?: string;
  highlight?: boolean;
  filled?: boolean;
}

const W = 560;
const H = 240;
const PAD = { left: 44, right: 16, top: 14, bottom: 34 };

function niceTicks(max: number, count = 5): number[] {
  if (max <= 0) return [0];
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let t = 0; t <= max + 1e-9; t += step) ticks.push(Math.round(t * 1e6) / 1e6);
  return ticks;
}

/** A metric (0–1) against the number of labels; one dot per model version. */
export function LearningCurve({ points, yLabel = 'Accuracy' }: { points: CurvePoint[]; yLabel?: string }) {
  const sorted = [...points].sort((a, b) => a.x - b.x);
  const xMax = Math.max(10, ...sorted.map((p) => p.x)) * 1.05;
  const yMin = Math.max(0, Math.floor((Math.min(1, ...sorted.map((p) => p.y)) - 0.1) * 10) / 10);
  const sx = (x: number) => PAD.left + (x / xMax) * (W - PAD.left - PAD.right);
  const sy = (y: number) => PAD.top + (1 - (y - yMin) / (1 - yMin || 1)) * (H - PAD.top - PAD.bottom);
  const yTicks = Array.from({ length: Math.round((1 - yMin) * 10) + 1 }, (_, i) => yMin + i / 10).filter((_, i, all) => all.length <= 6 || i % 2 === 0);
  const xTicks = niceTicks(xMax);
  const path = sorted.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${yLabel} by number of labels`}>
      {yTicks.map((t) => (
        <g key={`y${t}`}>
          <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={sy(t)} y2={sy(t)} />
          <text x={PAD.left - 8} y={sy(t) + 4} textAnchor="end">
            {Math.round(t * 100)}%
          </text>
        </g>
      ))}
      {xTicks.map((t) => (
        <text key={`x${t}`} x={sx(t)} y={H - PAD.bottom + 16} textAnchor="middle">
          {t}
        </text>
      ))}
      <line className="axis" x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} />
      <text x={(W + PAD.left) / 2} y={H - 4} textAnchor="middle">
        labels
      </text>
      <path className="line" d={path} data-testid="curve-path" />
      {sorted.map((p, i) => (
        <circle
          key={i}
          className={['dot', p.filled && 'dot-finetuned', p.highlight && 'dot-active'].filter(Boolean).join(' ')}
          cx={sx(p.x)}
          cy={sy(p.y)}
          r={p.highlight ? 5 : 4}
        >
          <title>{`${p.label ?? ''} ${p.x} labels: ${(p.y * 100).toFixed(1)}%`.trim()}</title>
        </circle>
      ))}
    </svg>
  );
}
