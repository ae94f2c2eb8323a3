'use client';
import { AgreementTrend, type TrendPoint } from '@/components/charts/agreement-trend';
import { ErrorMessage } from '@/components/ui/alert';
import { Card, Stat } from '@/components/ui/misc';
import { useAgreement } from '@/lib/api/queries';
import type { Agreement, AgreementEstimate } from '@/lib/api/types';
import { percent } from '@/lib/metrics';

type Scale = 'share' | 'coefficient';

/** κ and α as coefficients (−1…1), percent agreement as a share. */
function format(value: number, scale: Scale): string {
  return scale === 'share' ? percent(value, 1) : value.toFixed(2);
}

function support(e: AgreementEstimate): string {
  return `${e.items.toLocaleString()} items${e.pairs !== e.items ? `, ${e.pairs.toLocaleString()} pairs` : ''}`;
}

/** "0.40 (0.21 to 0.58)"; "—" with the reason where there is no figure. */
export function describeEstimate(e: AgreementEstimate, scale: Scale): { value: string; sub: string } {
  if (e.value == null) return { value: '—', sub: e.reason ?? 'no figure' };
  const spread = e.low != null && e.high != null ? `95 % interval ${format(e.low, scale)} to ${format(e.high, scale)}; ` : '';
  return { value: format(e.value, scale), sub: `${spread}on ${support(e)}` };
}

function Figure({ label, e, scale, testId }: { label: string; e: AgreementEstimate; scale: Scale; testId: string }) {
  const { value, sub } = describeEstimate(e, scale);
  return (
    <div data-testid={testId}>
      <Stat label={label} value={<span className="tabular">{value}</span>} sub={sub} />
    </div>
  );
}

/** A compact cell: the figure and its support, the reason as a tooltip where there is none. */
function Cell({ e, scale = 'coefficient' }: { e: AgreementEstimate | null | undefined; scale?: Scale }) {
  if (!e) return <td className="num muted">—</td>;
  const { value, sub } = describeEstimate(e, scale);
  return (
    <td className="num" title={sub}>
      {value} <span className="muted small">({e.items})</span>
    </td>
  );
}

function trend(agreement: Agreement): TrendPoint[] {
  return agreement.history.flatMap((point) => {
    const e = point.krippendorff_alpha;
    return e.value == null ? [] : [{ at: point.computed_at, value: e.value, low: e.low, high: e.high, items: e.items }];
  });
}

/** The figures of a stored agreement report, or its counts while there are too few items. */
export function AgreementView({ agreement }: { agreement: Agreement }) {
  const { overall, cohen_kappa: cohen } = agreement;
  if (!agreement.computed || agreement.items === 0 || !overall) {
    return (
      <p className="muted" data-testid="agreement-empty">
        No item has two annotations yet, so there is nothing to compare.
        {agreement.annotations_per_item < 2 && !agreement.overlap_share
          ? ' Set an overlap share (a random sample of items gets a second annotator) or annotations per item to 2 or more in the project settings to measure agreement.'
          : ' Items get their second annotation as the team labels.'}
      </p>
    );
  }
  if (agreement.items < agreement.min_support) {
    return (
      <div data-testid="agreement-counts">
        <Stat
          label="Items with two or more annotations"
          value={`${agreement.items.toLocaleString()} of ${agreement.min_support}`}
          sub={`${agreement.annotations.toLocaleString()} annotations by ${agreement.annotators} annotators; the figures and their intervals appear at ${agreement.min_support} items`}
        />
      </div>
    );
  }
  const points = trend(agreement);
  return (
    <div className="stack" data-testid="agreement-figures">
      <div className="grid-2">
        <Figure label="Krippendorff's α" e={overall.krippendorff_alpha} scale="coefficient" testId="agreement-alpha" />
        {cohen?.value != null ? (
          <Figure label="Cohen's κ" e={cohen} scale="coefficient" testId="agreement-cohen" />
        ) : (
          <Figure label="Fleiss' κ" e={overall.fleiss_kappa} scale="coefficient" testId="agreement-fleiss" />
        )}
        <Figure label="Percent agreement" e={overall.percent_agreement} scale="share" testId="agreement-percent" />
      </div>
      <p className="muted small">
        On {agreement.items.toLocaleString()} items labeled by two or more of {agreement.annotators} annotators ({agreement.annotations.toLocaleString()} annotations). α and κ correct for chance agreement: 1 is perfect, 0 chance.
      </p>
      {points.length > 1 && <AgreementTrend points={points} name="Krippendorff's α" />}
      <table className="table" data-testid="agreement-labels">
        <thead>
          <tr>
            <th>Label (chosen or not)</th>
            <th className="num">α (items)</th>
            <th className="num">agreement</th>
          </tr>
        </thead>
        <tbody>
          {agreement.per_label.map((row) => (
            <tr key={row.label}>
              <td>{row.label}</td>
              <Cell e={row.krippendorff_alpha} />
              <Cell e={row.percent_agreement} scale="share" />
            </tr>
          ))}
        </tbody>
      </table>
      {agreement.pairs.length > 1 && (
        <table className="table" data-testid="agreement-pairs">
          <thead>
            <tr>
              <th>Pair</th>
              <th className="num">Cohen's κ (items)</th>
            </tr>
          </thead>
          <tbody>
            {agreement.pairs.map((pair) => (
              <tr key={`${pair.a}-${pair.b}`}>
                <td>
                  {pair.a_name || 'Unknown'} · {pair.b_name || 'Unknown'}
                </td>
                <Cell e={pair.cohen_kappa} />
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <table className="table" data-testid="agreement-annotators">
        <thead>
          <tr>
            <th>Annotator</th>
            <th className="num" title="Cohen's κ against the majority of the item's other annotators">
              κ vs others (items)
            </th>
            <th className="num" title="Cohen's κ against the model's cross-validated prediction">
              κ vs model (items)
            </th>
          </tr>
        </thead>
        <tbody>
          {agreement.per_annotator.map((row) => (
            <tr key={row.user_id}>
              <td>{row.name || 'Unknown'}</td>
              <Cell e={row.vs_consensus.cohen_kappa} />
              <Cell e={row.vs_model?.cohen_kappa} />
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function AgreementCard({ projectId, training }: { projectId: number; training: boolean }) {
  const agreement = useAgreement(projectId, training);
  return (
    <Card title="Annotator agreement" actions={<span className="muted small">95 % bootstrap intervals over items</span>}>
      {agreement.error ? <ErrorMessage error={agreement.error} /> : agreement.data ? <AgreementView agreement={agreement.data} /> : <p className="muted">Loading…</p>}
    </Card>
  );
}
