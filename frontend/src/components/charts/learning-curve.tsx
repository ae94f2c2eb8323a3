export interface CurvePoint {
  x: number;
  y: number;
  label?: string;
  /** The active version. */
  highlight?: boolean;
  /** A fine-tuned backbone (drawn as a diamond) rather than a head on frozen embeddings (a dot). */
  finetuned?: boolean;
  /** Validated worse than the active model: drawn faded and left out of the line. */
  rejected?: boolean;
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

const percent = (y: number, digits = 0) => `${(y * 100).toFixed(digits)}%`;

function Marker({ p, cx, cy, format }: { p: CurvePoint; cx: number; cy: number; format?: (y: number) => string }) {
  const className = ['dot', p.finetuned && 'dot-finetuned', p.highlight && 'dot-active', p.rejected && 'dot-rejected'].filter(Boolean).join(' ');
  const value = format ? format(p.y) : percent(p.y, 1);
  const kind = format ? '' : ` ${p.finetuned ? 'fine-tuned' : 'head'}${p.rejected ? ', rejected' : ''}${p.highlight ? ', active' : ''}`;
  const title = <title>{`${p.label ?? ''}${kind} · ${p.x} labels: ${value}`.trim()}</title>;
  const r = p.highlight ? 5 : 4;
  if (p.finetuned) {
    const d = r * 1.35;
    return (
      <path className={className} d={`M${cx},${cy - d} L${cx + d},${cy} L${cx},${cy + d} L${cx - d},${cy} Z`} data-marker="finetuned">
        {title}
      </path>
    );
  }
  return (
    <circle className={className} cx={cx} cy={cy} r={r} data-marker="head">
      {title}
    </circle>
  );
}

/**
 * A metric (0–1) against the number of labels; one marker per model version (dots for heads,
 * diamonds for fine-tuned backbones). The line joins the versions that were used; rejected ones
 * stand apart, faded.
 */
export function LearningCurve({ points, yLabel = 'Accuracy', yFormat }: { points: CurvePoint[]; yLabel?: string; /** Tick and tooltip values (default: percent), e.g. a kappa. */ yFormat?: (y: number) => string }) {
  const sorted = [...points].sort((a, b) => a.x - b.x);
  const xMax = Math.max(10, ...sorted.map((p) => p.x)) * 1.05;
  const yMin = Math.max(0, Math.floor((Math.min(1, ...sorted.map((p) => p.y)) - 0.1) * 10) / 10);
  const sx = (x: number) => PAD.left + (x / xMax) * (W - PAD.left - PAD.right);
  const sy = (y: number) => PAD.top + (1 - (y - yMin) / (1 - yMin || 1)) * (H - PAD.top - PAD.bottom);
  const yTicks = Array.from({ length: Math.round((1 - yMin) * 10) + 1 }, (_, i) => yMin + i / 10).filter((_, i, all) => all.length <= 6 || i % 2 === 0);
  const xTicks = niceTicks(xMax);
  const path = sorted
    .filter((p) => !p.rejected)
    .map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
    .join(' ');
  const hasFinetuned = sorted.some((p) => p.finetuned);
  const hasRejected = sorted.some((p) => p.rejected);
  return (
    <div className="stack-sm">
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${yLabel} by number of labels`}>
        {yTicks.map((t) => (
          <g key={`y${t}`}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={sy(t)} y2={sy(t)} />
            <text x={PAD.left - 8} y={sy(t) + 4} textAnchor="end">
              {yFormat ? yFormat(t) : percent(t)}
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
          // biome-ignore lint/suspicious/noArrayIndexKey: points have no id (two versions may share x and y); the curve is redrawn whole
          <Marker key={i} p={p} cx={sx(p.x)} cy={sy(p.y)} format={yFormat} />
        ))}
      </svg>
      {(hasFinetuned || hasRejected) && (
        <div className="chart-legend muted small" aria-hidden>
          <span>
            <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden>
              <circle className="legend-dot" cx="6" cy="6" r="4" />
            </svg>
            head
          </span>
          <span>
            <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden>
              <path className="legend-dot legend-finetuned" d="M6,0.5 L11.5,6 L6,11.5 L0.5,6 Z" />
            </svg>
            fine-tuned
          </span>
          {hasRejected && (
            <span>
              <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden>
                <circle className="legend-dot legend-rejected" cx="6" cy="6" r="4" />
              </svg>
              rejected (not used)
            </span>
          )}
        </div>
      )}
    </div>
  );
}
