'use client';
import { useState, type FormEvent } from 'react';
import { usePatchProject } from '@/lib/api/queries';
import type { Project } from '@/lib/api/types';
import { can } from '@/lib/permissions';
import { LabelsEditor, labelProblem } from './labels-editor';
import { QueueFields } from './queue-fields';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { Card } from '@/components/ui/misc';
import { useToast } from '@/components/ui/toast';

/** The settings as text, for roles that cannot change them: no inputs that look editable. */
function SettingsSummary({ project }: { project: Project }) {
  const rows: [string, string][] = [
    ['Name', project.name],
    ['Labels', project.labels.join(', ')],
    ['Query strategy', project.strategy],
    ['Suggestion precision target', `${Math.round(project.suggestion_precision * 100)}%`],
    ['Annotators per item', String(project.annotations_per_item)],
    ['Second annotator for', `${Math.round((project.overlap_share ?? 0) * 100)}% of items`],
    ['Lease', `${project.lease_seconds} s`],
  ];
  return (
    <Card title="Settings" actions={<span className="muted small">Only owners can change settings.</span>}>
      <dl className="stack-sm" data-testid="settings-summary">
        {rows.map(([term, value]) => (
          <div key={term}>
            <dt className="muted small">{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </Card>
  );
}

export function SettingsForm({ project }: { project: Project }) {
  return can(project, 'changeSettings') ? <EditableSettings project={project} /> : <SettingsSummary project={project} />;
}

function EditableSettings({ project }: { project: Project }) {
  const [name, setName] = useState(project.name);
  const [labels, setLabels] = useState(project.labels);
  const [strategy, setStrategy] = useState(project.strategy);
  const [precision, setPrecision] = useState(project.suggestion_precision);
  const [perItem, setPerItem] = useState(project.annotations_per_item);
  const [overlap, setOverlap] = useState(project.overlap_share ?? 0);
  const [lease, setLease] = useState(project.lease_seconds);
  const [audit, setAudit] = useState(project.audit_share ?? 0.1);
  const patch = usePatchProject(project.id);
  const notify = useToast();
  const problem = labelProblem(labels);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (problem) return;
    patch.mutate(
      { name, labels, strategy, suggestion_precision: precision, annotations_per_item: perItem, overlap_share: overlap, lease_seconds: lease, audit_share: audit },
      { onSuccess: () => notify('Settings saved', 'success') },
    );
  };

  return (
    <Card title="Settings">
      <form onSubmit={submit} className="stack">
        <fieldset className="stack plain-fieldset">
          <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
          <div className="field">
            <label className="field-label" htmlFor="settings-labels">
              Labels
            </label>
            <LabelsEditor id="settings-labels" labels={labels} onChange={setLabels} locked={project.labels} />
            <div className="field-hint">Existing labels keep their annotations, so they can be reordered but not removed.</div>
            {problem && <div className="field-error">{problem}</div>}
          </div>
          <div className="grid-2">
            <QueueFields strategy={strategy} onStrategy={setStrategy} precision={precision} onPrecision={setPrecision} />
            <TextField label="Annotators per item" type="number" min={1} max={20} value={perItem} onChange={(e) => setPerItem(Number(e.target.value))} />
            <TextField
              label="Overlap share"
              type="number"
              min={0}
              max={1}
              step={0.01}
              value={overlap}
              disabled={perItem > 1}
              onChange={(e) => setOverlap(Number(e.target.value))}
              hint={perItem > 1 ? 'Every item already gets several annotators.' : 'Share of items, drawn at random, that a second annotator labels too, so agreement is measured fairly (e.g. 0.1).'}
            />
            <TextField
              label="Lease (seconds)"
              type="number"
              min={10}
              max={86400}
              value={lease}
              onChange={(e) => setLease(Number(e.target.value))}
              hint="How long queued items stay reserved for one annotator."
            />
            <TextField
              label="Audit share"
              type="number"
              min={0}
              max={0.5}
              step={0.01}
              value={audit}
              onChange={(e) => setAudit(Number(e.target.value))}
              hint={`Share of served items drawn at random to measure the model honestly (then ${project.audit_share_later ?? 0.05} after 100 audit labels). Annotators are not told.`}
            />
          </div>
        </fieldset>
        <ErrorMessage error={patch.error} />
        <div className="row-end">
          <Button type="submit" variant="primary" busy={patch.isPending} disabled={!!problem}>
            Save settings
          </Button>
        </div>
      </form>
    </Card>
  );
}
