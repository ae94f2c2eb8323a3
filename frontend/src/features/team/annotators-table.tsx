'use client';
import { useAnnotators } from '@/lib/api/queries';
import type { AnnotatorFigures, AnnotatorsPage, Project } from '@/lib/api/types';
import { percent } from '@/lib/metrics';
import { can } from '@/lib/permissions';
import { ErrorMessage } from '@/components/ui/alert';
import { Card } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';

type Comparison = NonNullable<AnnotatorFigures['vs_consensus']>;

/** κ with its support, or a dash with the reason (as a tooltip) where there is no figure. */
function Agreement({ comparison, testId }: { comparison: Comparison | null | undefined; testId: string }) {
  if (!comparison) return <td className="num muted">—</td>;
  const kappa = comparison.cohen_kappa;
  const share = comparison.percent_agreement;
  const title =
    kappa.value == null
      ? (kappa.reason ?? 'no figure')
      : `Cohen's κ ${kappa.value.toFixed(2)}${kappa.low != null && kappa.high != null ? ` (95 % ${kappa.low.toFixed(2)} to ${kappa.high.toFixed(2)})` : ''}; ${share.value != null ? `${percent(share.value, 1)} agree` : ''}`;
  return (
    <td className="num" title={title} data-testid={testId}>
      {kappa.value == null ? '—' : kappa.value.toFixed(2)} <span className="muted small">({kappa.items})</span>
    </td>
  );
}

function seconds(value: number | null | undefined): string {
  if (value == null) return '—';
  return value < 60 ? `${value.toFixed(value < 10 ? 1 : 0)} s` : `${(value / 60).toFixed(1)} min`;
}

/** The figures as a table: one row per annotator (one's own row for an annotator). */
export function AnnotatorsView({ page }: { page: AnnotatorsPage }) {
  if (!page.data.length) return <p className="muted">No annotators yet.</p>;
  const gapMinutes = Math.round(page.active_gap_seconds / 60);
  return (
    <div className="stack-sm">
      <div className="table-scroll">
        <table className="table" data-testid="annotators-table">
          <thead>
            <tr>
              <th>Annotator</th>
              <th className="num">Labels</th>
              <th className="num" title={`Over active time: pauses longer than ${gapMinutes} min are not counted`}>
                Labels / hour
              </th>
              <th className="num" title="Median time per item served by the queue">
                Median per item
              </th>
              <th className="num">Skipped</th>
              <th className="num" title="Cohen's κ against the majority of the other annotators (items compared)">
                κ vs team
              </th>
              <th className="num" title="Cohen's κ against the model's held-out prediction (items compared)">
                κ vs model
              </th>
              <th className="num" title="Suggestions accepted / corrected on the suggestions page">
                Suggestions
              </th>
            </tr>
          </thead>
          <tbody>
            {page.data.map((row) => (
              <tr key={row.user_id} data-testid={`annotator-${row.user_id}`}>
                <td>
                  {row.name || 'Unknown'}
                  {row.role == null && <span className="muted small"> (former member)</span>}
                </td>
                <td className="num">{row.labels.toLocaleString()}</td>
                <td className="num" data-testid="per-hour">
                  {row.labels_per_hour == null ? '—' : row.labels_per_hour.toFixed(0)}
                </td>
                <td className="num" title={`${row.timed_labels} timed labels`} data-testid="median">
                  {seconds(row.median_seconds)}
                </td>
                <td className="num" data-testid="skipped">
                  {row.skipped.toLocaleString()}
                  {row.skip_share != null && <span className="muted small"> ({percent(row.skip_share, 0)})</span>}
                </td>
                <Agreement comparison={row.vs_consensus} testId="vs-team" />
                <Agreement comparison={row.vs_model} testId="vs-model" />
                <td className="num" data-testid="suggestions">
                  {row.suggestions_accepted} / {row.suggestions_corrected}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        Labels per hour count active time only (gaps over {gapMinutes} min are pauses). Time per item runs from the later of the item&apos;s serve and the previous label or skip.
        Agreement is the last training run&apos;s{page.agreement_computed_at ? '' : ' (none yet: it needs items labeled by two annotators)'}.
      </p>
    </div>
  );
}

/** Dashboard card: every annotator for owners and reviewers, "your figures" for annotators. */
export function AnnotatorsCard({ project }: { project: Project }) {
  const allowed = can(project, 'label'); // viewers do not label: the API answers them 403
  const query = useAnnotators(project.id, allowed);
  if (!allowed) return null;
  const own = !can(project, 'review');
  return (
    <Card title={own ? 'Your labeling figures' : 'Annotators'}>
      {query.error ? <ErrorMessage error={query.error} /> : query.data ? <AnnotatorsView page={query.data} /> : <Loading />}
    </Card>
  );
}
