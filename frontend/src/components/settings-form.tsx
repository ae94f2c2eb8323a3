'use client';
import { useState, type FormEvent } from 'react';
import { usePatchProject } from '@/lib/api/queries';
import type { Project } from '@/lib/api/types';
import { LabelsEditor, labelProblem } from './labels-editor';
import { ErrorMessage } from './ui/alert';
import { Button } from './ui/button';
import { SelectField, TextField } from './ui/field';
import { Card } from './ui/misc';
import { useToast } from './ui/toast';

export const STRATEGIES = [
  { value: 'entropy', title: 'Entropy', hint: 'The most uncertain items overall.' },
  { value: 'margin', title: 'Margin', hint: 'Items whose top two labels are closest.' },
  { value: 'least_confidence', title: 'Least confidence', hint: 'Items with the lowest top probability.' },
  { value: 'random', title: 'Random', hint: 'A uniform sample, as a baseline.' },
];

export function SettingsForm({ project }: { project: Project }) {
  const [name, setName] = useState(project.name);
  const [labels, setLabels] = useState(project.labels);
  const [strategy, setStrategy] = useState(project.strategy);
  const [precision, setPrecision] = useState(project.suggestion_precision);
  const [perItem, setPerItem] = useState(project.annotations_per_item);
  const [lease, setLease] = useState(project.lease_seconds);
  const patch = usePatchProject(project.id);
  const notify = useToast();
  const owner = project.role === 'owner';
  const problem = labelProblem(labels);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (problem) return;
    patch.mutate(
      { name, labels, strategy, suggestion_precision: precision, annotations_per_item: perItem, lease_seconds: lease },
      { onSuccess: () => notify('Settings saved', 'success') },
    );
  };

  return (
    <Card title="Settings" actions={!owner && <span className="muted small">Only owners can change settings.</span>}>
      <form onSubmit={submit} className="stack">
        <fieldset disabled={!owner} className="stack plain-fieldset">
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
            <SelectField label="Active-learning strategy" value={strategy} onChange={(e) => setStrategy(e.target.value)} hint={STRATEGIES.find((s) => s.value === strategy)?.hint}>
              {STRATEGIES.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.title}
                </option>
              ))}
            </SelectField>
            <TextField
              label="Suggestion precision target"
              type="number"
              min={0.51}
              max={0.999}
              step={0.01}
              value={precision}
              onChange={(e) => setPrecision(Number(e.target.value))}
              hint="The confidence threshold is calibrated so suggestions are this precise."
            />
            <TextField label="Annotators per item" type="number" min={1} max={20} value={perItem} onChange={(e) => setPerItem(Number(e.target.value))} />
            <TextField
              label="Lease (seconds)"
              type="number"
              min={10}
              max={86400}
              value={lease}
              onChange={(e) => setLease(Number(e.target.value))}
              hint="How long queued items stay reserved for one annotator."
            />
          </div>
        </fieldset>
        <ErrorMessage error={patch.error} />
        {owner && (
          <div className="row-end">
            <Button type="submit" variant="primary" busy={patch.isPending} disabled={!!problem}>
              Save settings
            </Button>
          </div>
        )}
      </form>
    </Card>
  );
}
