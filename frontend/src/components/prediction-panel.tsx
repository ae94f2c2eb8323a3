import type { PredictionLike } from '@/lib/api/types';
import { percent } from '@/lib/metrics';

/** The model's view of the current item: its prediction, per-label probabilities, uncertainty. */
export function PredictionPanel({
  prediction,
  uncertainty,
  labels,
  coldStart,
}: {
  prediction: PredictionLike | null | undefined;
  uncertainty: number | null | undefined;
  labels: string[];
  coldStart?: boolean;
}) {
  if (!prediction) {
    return (
      <section className="prediction" aria-label="Model prediction">
        <h3 className="legend-title">Model</h3>
        <p className="muted small">
          No model yet{coldStart ? ' — showing representative items to start with.' : '.'} A model trains after the first few labels.
        </p>
      </section>
    );
  }
  const ranked = [...labels].sort((a, b) => (prediction.scores[b] ?? 0) - (prediction.scores[a] ?? 0));
  return (
    <section className="prediction" aria-label="Model prediction">
      <h3 className="legend-title">
        Model{prediction.model_version != null && <span className="muted"> · v{prediction.model_version}</span>}
      </h3>
      <p className="prediction-top">
        Predicts <strong>{prediction.labels.length ? prediction.labels.join(', ') : 'none'}</strong>
      </p>
      <ul className="score-list">
        {ranked.slice(0, 6).map((label) => {
          const p = prediction.scores[label] ?? 0;
          return (
            <li key={label} className="score-row">
              <span className="score-label">{label}</span>
              <span className="score-bar">
                <span className="score-fill" style={{ width: `${Math.round(p * 100)}%` }} />
              </span>
              <span className="score-value">{percent(p)}</span>
            </li>
          );
        })}
      </ul>
      {uncertainty != null && (
        <p className="small muted" title="Normalised to 0–1; higher means the model learns more from your label">
          Uncertainty <strong className="tabular">{uncertainty.toFixed(2)}</strong>
        </p>
      )}
    </section>
  );
}
