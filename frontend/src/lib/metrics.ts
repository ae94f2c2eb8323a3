// Model metrics arrive as a free-form JSON object; these helpers read them defensively.

export interface ClassMetric {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface SingleLabelMetrics {
  kind: 'single';
  accuracy: number | null;
  macroF1: number | null;
  perClass: Record<string, ClassMetric>;
  confusion: number[][] | null;
  labels: string[];
  cvFolds: number | null;
}

export interface MultiLabelMetrics {
  kind: 'multi';
  microF1: number | null;
  macroF1: number | null;
  subsetAccuracy: number | null;
  perLabel: Record<string, ClassMetric>;
  labels: string[];
  cvFolds: number | null;
}

export type Metrics = SingleLabelMetrics | MultiLabelMetrics;

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** Per-label entries keyed by label name; keys that are column indexes are mapped to names. */
function classMetrics(value: unknown, labels: string[]): Record<string, ClassMetric> {
  if (!value || typeof value !== 'object') return {};
  const out: Record<string, ClassMetric> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const label = !labels.includes(key) && /^\d+$/.test(key) && labels[Number(key)] ? labels[Number(key)] : key;
    const m = (raw ?? {}) as Record<string, unknown>;
    out[label] = { precision: num(m.precision) ?? 0, recall: num(m.recall) ?? 0, f1: num(m.f1) ?? 0, support: num(m.support) ?? 0 };
  }
  return out;
}

function matrix(value: unknown): number[][] | null {
  if (!Array.isArray(value) || !value.every((row) => Array.isArray(row))) return null;
  return value.map((row: unknown[]) => row.map((cell) => num(cell) ?? 0));
}

export function parseMetrics(value: unknown): Metrics | null {
  if (!value || typeof value !== 'object') return null;
  const m = value as Record<string, unknown>;
  const labels = Array.isArray(m.labels) ? m.labels.map(String) : [];
  const cvFolds = num(m.cv_folds);
  if ('micro_f1' in m || 'per_label' in m || 'subset_accuracy' in m) {
    return {
      kind: 'multi',
      microF1: num(m.micro_f1),
      macroF1: num(m.macro_f1),
      subsetAccuracy: num(m.subset_accuracy),
      perLabel: classMetrics(m.per_label, labels),
      labels,
      cvFolds,
    };
  }
  if ('accuracy' in m || 'per_class' in m || 'confusion_matrix' in m) {
    return {
      kind: 'single',
      accuracy: num(m.accuracy),
      macroF1: num(m.macro_f1),
      perClass: classMetrics(m.per_class, labels),
      confusion: matrix(m.confusion_matrix),
      labels,
      cvFolds,
    };
  }
  return null;
}

/** The one number that summarises a model: accuracy (single-label) or micro-F1 (multi-label). */
export function headline(value: unknown): { name: string; value: number } | null {
  const m = parseMetrics(value);
  if (!m) return null;
  if (m.kind === 'single') return m.accuracy == null ? null : { name: 'Accuracy', value: m.accuracy };
  return m.microF1 == null ? null : { name: 'Micro F1', value: m.microF1 };
}

/** Labels a version rests on before a card shows its figure: FILAMENT_METRICS_MIN_SUPPORT's
 * default, for versions whose metrics do not say their own minimum. */
export const MIN_FIGURE_SUPPORT = 30;
/** Labels of one label before its precision and recall are shown (below it: the count only). */
export const MIN_LABEL_SUPPORT = 10;

export interface SupportedFigure {
  name: string;
  /** null below the minimum support: only the counts are shown */
  value: number | null;
  support: number;
  minSupport: number;
}

/**
 * The one number a card shows for a version, only when it rests on enough labels: "Accuracy
 * 33.3 %" after 3 labels says nothing. Versions with audited/cross-validated evidence use the
 * trusted block's figure and support; older ones their label count against MIN_FIGURE_SUPPORT.
 */
export function supportedHeadline(value: unknown, labelCount: number | null | undefined): SupportedFigure | null {
  const plain = headline(value);
  if (!plain) return null;
  const evidence = parseEvidence(value);
  if (evidence) {
    const trusted = evidence.trust === 'audit' ? evidence.audit : evidence.cv;
    if (trusted.primary) return { name: evidence.name, value: trusted.primary.value, support: trusted.support, minSupport: trusted.minSupport };
    return { name: evidence.name, value: null, support: evidence.cv.support, minSupport: evidence.cv.minSupport };
  }
  const support = labelCount ?? 0;
  return { name: plain.name, value: support >= MIN_FIGURE_SUPPORT ? plain.value : null, support, minSupport: MIN_FIGURE_SUPPORT };
}

export function percent(value: number | null | undefined, digits = 0): string {
  return value == null ? '—' : `${(value * 100).toFixed(digits)}%`;
}

// -- held-out evidence: the audited and cross-validated figures with their intervals ----------

export interface Estimate {
  value: number;
  low: number;
  high: number;
  method: string;
  correct: number | null;
}

/** The accuracy over the whole pool: the queue's labels counted, the rest estimated from the
 * audit labels with the model's confidence (prediction-powered). */
export interface PoolEstimate extends Estimate {
  auditLabels: number;
  queueLabels: number;
  poolItems: number;
}

export interface EvidenceBlock {
  support: number;
  minSupport: number;
  labelCounts: number[];
  /** accuracy (single-label) or micro-F1 (multi-label); null below the minimum support */
  primary: Estimate | null;
  macroF1: Estimate | null;
  /** audit block, single-label, from the minimum support on */
  pool: PoolEstimate | null;
}

export interface Evidence {
  name: string;
  cv: EvidenceBlock;
  audit: EvidenceBlock;
  trust: 'audit' | 'cross_validated' | null;
  disagree: boolean;
}

function estimate(value: unknown): Estimate | null {
  if (!value || typeof value !== 'object') return null;
  const e = value as Record<string, unknown>;
  const [v, low, high] = [num(e.value), num(e.low), num(e.high)];
  if (v == null || low == null || high == null) return null;
  return { value: v, low, high, method: typeof e.method === 'string' ? e.method : '', correct: num(e.correct) };
}

function poolEstimate(value: unknown): PoolEstimate | null {
  const e = estimate(value);
  if (!e) return null;
  const p = value as Record<string, unknown>;
  return { ...e, auditLabels: num(p.audit_labels) ?? 0, queueLabels: num(p.queue_labels) ?? 0, poolItems: num(p.pool_items) ?? 0 };
}

function block(value: unknown, primary: string): EvidenceBlock | null {
  if (!value || typeof value !== 'object') return null;
  const b = value as Record<string, unknown>;
  const support = num(b.support);
  if (support == null) return null;
  return {
    support,
    minSupport: num(b.min_support) ?? 0,
    labelCounts: Array.isArray(b.label_counts) ? b.label_counts.map((c) => num(c) ?? 0) : [],
    primary: estimate(b[primary]),
    macroF1: estimate(b.macro_f1),
    pool: poolEstimate(b.pool_accuracy),
  };
}

/** The audited and cross-validated figures of a version (null for versions made before them,
 * and for fine-tuned versions, which report a held-out split instead). */
export function parseEvidence(value: unknown): Evidence | null {
  if (!value || typeof value !== 'object') return null;
  const m = value as Record<string, unknown>;
  const judgement = (m.judgement ?? {}) as Record<string, unknown>;
  const metric = judgement.metric === 'micro_f1' ? 'micro_f1' : 'accuracy';
  const cv = block(m.cross_validated, metric);
  const audit = block(m.audit, metric);
  if (!cv || !audit) return null;
  const trust = judgement.trust === 'audit' || judgement.trust === 'cross_validated' ? judgement.trust : null;
  return { name: metric === 'micro_f1' ? 'Micro F1' : 'Accuracy', cv, audit, trust, disagree: judgement.disagree === true };
}

/** "65–78%": a 95 % interval. */
export function interval(e: Pick<Estimate, 'low' | 'high'>, digits = 0): string {
  return `${(e.low * 100).toFixed(digits)}–${(e.high * 100).toFixed(digits)}%`;
}

/** One line on how far a version's predictions can be trusted, with its support: the audited
 * figure when it has its minimum support, else the cross-validated one, else only counts. */
export function evidenceLine(evidence: Evidence): string {
  const p = evidence.audit.pool;
  if (p) return `${evidence.name} ${percent(p.value, 1)} over the pool (95 % interval ${interval(p)}), from ${p.auditLabels} random audit items and the model's confidence`;
  const a = evidence.audit.primary;
  if (a) return `${evidence.name} ${percent(a.value, 1)} (95 % interval ${interval(a)}), audited on ${evidence.audit.support} random items`;
  const c = evidence.cv.primary;
  const counts = `${evidence.audit.support} of ${evidence.audit.minSupport} audit labels so far`;
  if (c) return `${evidence.name} ${percent(c.value, 1)} cross-validated on ${evidence.cv.support} queue-chosen labels (biased, usually low); ${counts}`;
  return `Too few labels for a figure: ${counts}`;
}
