import type { Backbone } from '@/lib/api/types';

type Benchmark = NonNullable<Backbone['benchmark']>;

const DATASETS: Record<string, string> = { cifar10: 'CIFAR-10', uci: 'UCI sentences', agnews: 'AG News' };

const percent = (accuracy: number) => `${(accuracy * 100).toFixed(1)} %`;
const probeKey = (p: Benchmark['probe'][number]) => `${p.dataset}:${p.labels ?? 'all'}`;

/** "23 images/s" for the option label: the one figure that fits in a select. */
export function speedLabel(backbone: Backbone): string {
  if (!backbone.benchmark) return '';
  const rate = backbone.benchmark.embed_per_second;
  return `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} ${backbone.modality}s/s`;
}

/** The measured backbones of one modality side by side: speed, and linear-probe accuracy per
 * reference dataset and label count; the chosen one is marked. Unmeasured ones are left out
 * (nothing is shown that was not measured). */
export function BackboneBenchmarks({ backbones, chosen }: { backbones: Backbone[]; chosen?: string }) {
  const measured = backbones.filter((b): b is Backbone & { benchmark: Benchmark } => b.benchmark != null);
  if (measured.length === 0) return null;
  const columns = [...new Map(measured.flatMap((b) => b.benchmark.probe).map((p) => [probeKey(p), p])).values()];
  const machines = [...new Set(measured.map((b) => b.benchmark.machine))];
  const seeds = [...new Set(measured.map((b) => b.benchmark.seeds))];
  return (
    <div className="table-wrap" data-testid="backbone-benchmarks">
      <table className="table" aria-label="Measured speed and accuracy of the backbones">
        <thead>
          <tr>
            <th>Backbone</th>
            <th className="num">Embeds</th>
            {columns.map((p) => (
              <th key={probeKey(p)} className="num">
                {DATASETS[p.dataset] ?? p.dataset}, {p.labels == null ? 'all labels' : `${p.labels} labels`}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {measured.map((b) => (
            <tr key={b.name} aria-current={b.name === chosen ? 'true' : undefined}>
              <td>{b.name === chosen ? <strong>{b.name}</strong> : b.name}</td>
              <td className="num">{speedLabel(b)}</td>
              {columns.map((c) => {
                const p = b.benchmark.probe.find((q) => probeKey(q) === probeKey(c));
                return (
                  <td key={probeKey(c)} className="num">
                    {p ? percent(p.accuracy) : '–'}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted">
        Measured on {machines.join('; ')}: embedding speed of the whole embed job, and test accuracy of logistic regression on the frozen embeddings with that many random labels (mean of {seeds.join('/')}{' '}
        seeds).
      </p>
    </div>
  );
}
