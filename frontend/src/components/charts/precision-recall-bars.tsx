import { MIN_LABEL_SUPPORT, type ClassMetric } from '@/lib/metrics';

/**
 * Per-label precision and recall as paired horizontal bars, each with the labels it rests on;
 * below `minSupport` labels only the count (a "0 / 0 %" from two labels is noise, not a figure).
 */
export function PrecisionRecallBars({ perLabel, labels, minSupport = MIN_LABEL_SUPPORT }: { perLabel: Record<string, ClassMetric>; labels?: string[]; minSupport?: number }) {
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
          const enough = m.support >= minSupport;
          return (
            <div key={label} className="bar-row" data-testid="pr-row" data-enough={enough}>
              <span className="bar-label" title={`${label} (${m.support} labeled)`}>
                {label}
              </span>
              {enough ? (
                <span className="bar-pair">
                  <span className="bar" title={`precision ${(m.precision * 100).toFixed(0)}%`}>
                    <span className="bar-fill bar-precision" style={{ width: `${m.precision * 100}%`, display: 'block' }} />
                  </span>
                  <span className="bar" title={`recall ${(m.recall * 100).toFixed(0)}%`}>
                    <span className="bar-fill bar-recall" style={{ width: `${m.recall * 100}%`, display: 'block' }} />
                  </span>
                </span>
              ) : (
                <span className="bar-pair muted small">too few labels for a figure (needs {minSupport})</span>
              )}
              <span className="bar-values tabular">
                {enough && `${(m.precision * 100).toFixed(0)} / ${(m.recall * 100).toFixed(0)}% · `}
                {m.support.toLocaleString()} labeled
              </span>
            </div>
          );
        })}
      </div>
    </div>
  );
}
