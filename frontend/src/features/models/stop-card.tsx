'use client';
import { type Forecast, type StopAdvice, useForecast, useStopAdvice } from '@/lib/api/quality';
import { LearningCurve } from '@/components/charts/learning-curve';
import { ErrorMessage } from '@/components/ui/alert';
import { Badge, Card } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';

const kappa = (y: number) => y.toFixed(2);
const share = (y: number) => `${(y * 100).toFixed(1)}%`;

function ForecastLine({ forecast }: { forecast: Forecast }) {
  const basis = forecast.basis === 'audit' ? 'audited' : forecast.basis === 'cross_validated' ? 'cross-validated' : null;
  return (
    <div className="stack-sm" data-testid="forecast">
      <div className="row">
        <strong>Labels still needed</strong>
        {basis && <Badge tone={forecast.basis === 'audit' ? 'success' : 'warning'}>{basis} curve</Badge>}
        {forecast.flattened && <Badge tone="accent">flattened</Badge>}
      </div>
      <p data-testid="forecast-message">{forecast.message}.</p>
      {forecast.fitted_now != null && forecast.gain_if_doubled != null && (
        <p className="muted small">
          {forecast.metric} about {share(forecast.fitted_now)} on the fitted curve at {forecast.labels_now.toLocaleString()} labels; doubling them would add about {(forecast.gain_if_doubled * 100).toFixed(1)} points (a − b·n^−c fitted to {forecast.points.length} versions, 95 % bootstrap interval).
        </p>
      )}
    </div>
  );
}

function StabilityChart({ advice }: { advice: StopAdvice }) {
  const fired = advice.fired_at?.version;
  // the first check has nothing to compare with; kappa is drawn from 0 (it is rarely below)
  const points = advice.history.flatMap((point) => (point.kappa == null ? [] : [{ x: point.labels, y: Math.max(0, point.kappa), label: `v${point.version}`, highlight: point.version === fired }]));
  if (!points.length) return null;
  return <LearningCurve points={points} yLabel="κ between successive checks" yFormat={kappa} />;
}

/** The forecast and the stop advice, as the API answers them. */
export function StopView({ forecast, advice }: { forecast: Forecast | undefined; advice: StopAdvice | undefined }) {
  return (
    <div className="stack">
      {forecast && <ForecastLine forecast={forecast} />}
      {advice && (
        <div className="stack-sm" data-testid="stop-advice">
          <div className="row">
            <strong>Is the model still changing?</strong>
            {advice.stopped ? <Badge tone="success">stopped changing</Badge> : advice.history.length > 1 ? <Badge>still changing</Badge> : null}
          </div>
          <p data-testid="stop-message">{advice.message}</p>
          <StabilityChart advice={advice} />
          <p className="muted small">
            Cohen's κ between the predictions of checks {advice.check_every} labels apart on a fixed random stop set of {advice.stop_set.toLocaleString()} items; the advice comes at κ ≥ {advice.threshold} for {advice.window} checks in a row (Bloodgood &amp; Vijay-Shanker 2009).
          </p>
        </div>
      )}
    </div>
  );
}

/** The dashboard's "When to stop" card. */
export function StopCard({ projectId, training }: { projectId: number; training: boolean }) {
  const forecast = useForecast(projectId, training);
  const advice = useStopAdvice(projectId, training);
  return (
    <Card title="When to stop" actions={<span className="muted small">forecast from the learning curve · stop advice from stabilising predictions</span>}>
      {forecast.isPending && advice.isPending ? <Loading /> : forecast.error ? <ErrorMessage error={forecast.error} /> : <StopView forecast={forecast.data} advice={advice.data} />}
    </Card>
  );
}
