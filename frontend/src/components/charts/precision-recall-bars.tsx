import type { ClassMetric } from '@/lib/metrics';

/** Per-label precision and recall as paired horizontal bars. */
export function PrecisionRecallBars({ perLabel, labels }: { perLabel: Record<string, ClassMetric>; labels?: string[] }) {
  const order = (labels?.length ? labels : Object.keys(perLabel)).filter((label) => perLabel[label]);
  return (
    <div className="stack-sm">
      <div className="chart-legend">
        <span>
          <span className="swatch bar-precision" />
          precision
        </span>
        <span>
          <span className="swatch bar-recall" />
          recall
        </span>
      </div>
      <div className="bars">
        {order.map((label) => {
          const m = perLabel[label];
          return (
            <div key={label} className="bar-row" data-testid="pr-row">
              <span className="bar-label" title={`${label} (${m.support} labeled)`}>
                {label}
              </span>
              <span className="bar-pair">
                <span className="bar" title={`precision ${(m.precision * 100).toFixed(0)}%`}>
                  <span className="bar-fill bar-precision" style={{ width: `${m.precision * 100}%`, display: 'block' }} />
                </span>
                <span className="bar" title={`recall ${(m.recall * 100).toFixed(0)}%`}>
                  <span className="bar-fill bar-recall" style={{ width: `${m.recall * 100}%`, display: 'block' }} />
                </span>
              </span>
              <span className="bar-values">
                {(m.precision * 100).toFixed(0)} / {(m.recall * 100).toFixed(0)}%
              </span>
            </div>
          );
        })}
      </div>
    </div>
  );
}
