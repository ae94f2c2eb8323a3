'use client';
import { useRouter } from 'next/navigation';
import { useMemo, useState, type FormEvent } from 'react';
import { useBackbones, useCreateProject, useStrategies } from '@/lib/api/queries';
import { TASKS, modalityOf, type ProjectCreate, type Task } from '@/lib/api/types';
import { projectHref } from '@/lib/use-project-id';
import { BackboneBenchmarks, speedLabel } from './backbone-benchmarks';
import { LabelsEditor, labelProblem } from './labels-editor';
import { QueueFields } from './queue-fields';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { Card, PageHeader } from '@/components/ui/misc';

const PRESETS: Record<Task, { title: string; labels: string[] }[]> = {
  text_classification: [
    { title: 'Sentiment', labels: ['negative', 'positive'] },
    { title: 'Sentiment with neutral', labels: ['negative', 'neutral', 'positive'] },
  ],
  image_classification: [{ title: 'Cats and dogs', labels: ['cat', 'dog'] }],
  image_multilabel: [{ title: 'Scene objects', labels: ['person', 'car', 'dog', 'bicycle'] }],
};

export function CreateProjectForm() {
  const [name, setName] = useState('');
  const [task, setTask] = useState<Task>('text_classification');
  const [labels, setLabels] = useState<string[]>([]);
  const [backbone, setBackbone] = useState<string>('');
  const [strategy, setStrategy] = useState<string | null>(null);
  const [precision, setPrecision] = useState(0.97);
  const [touched, setTouched] = useState(false);
  const backbones = useBackbones();
  const strategies = useStrategies();
  const create = useCreateProject();
  const router = useRouter();

  const choices = useMemo(() => (backbones.data?.data ?? []).filter((b) => b.modality === modalityOf(task)), [backbones.data, task]);
  const fallback = choices.find((b) => b.default && b.available) ?? choices.find((b) => b.available) ?? choices.find((b) => b.default);
  const chosen = choices.find((b) => b.name === backbone) ?? fallback;
  const unavailable = choices.filter((b) => !b.available);
  const problem = labelProblem(labels);
  // the server's default until the user picks one; with no list yet the server decides alone
  const recommended = strategies.data?.data.find((s) => s.default)?.name;

  // still busy after success, until the upload page replaces this one
  const busy = create.isPending || create.isSuccess;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (problem) return;
    const picked = strategy ?? recommended;
    // the schema marks fields with server defaults as required: without a strategy (the list
    // did not load) the server applies its default
    const body = { name: name.trim(), task, labels, backbone: chosen?.name ?? null, ...(picked && { strategy: picked }), suggestion_precision: precision, annotations_per_item: 1, lease_seconds: 600 } as ProjectCreate;
    create.mutate(body, { onSuccess: (project) => router.push(projectHref('upload', project.id)) });
  };

  return (
    <form onSubmit={submit} className="narrow stack-lg">
      <PageHeader title="New project" description="Choose what you label and with which labels. You can add labels later." />
      <Card>
        <div className="stack">
          <TextField label="Project name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Product review sentiment" autoFocus />
          <fieldset className="field">
            <legend className="field-label">Task</legend>
            <div className="choice-grid">
              {TASKS.map((option) => (
                <label key={option.value} className={task === option.value ? 'choice choice-active' : 'choice'}>
                  <input
                    type="radio"
                    name="task"
                    value={option.value}
                    checked={task === option.value}
                    onChange={() => {
                      setTask(option.value);
                      setBackbone('');
                    }}
                  />
                  <span className="choice-title">{option.title}</span>
                  <span className="choice-hint">{option.hint}</span>
                </label>
              ))}
            </div>
          </fieldset>
          <div className="field">
            <label className="field-label" htmlFor="labels-input">
              Labels
            </label>
            <LabelsEditor id="labels-input" labels={labels} onChange={setLabels} />
            <div className="row small">
              <span className="muted">Presets:</span>
              {PRESETS[task].map((preset) => (
                <button key={preset.title} type="button" className="link-btn" onClick={() => setLabels(preset.labels)}>
                  {preset.title}
                </button>
              ))}
            </div>
            {touched && problem && <div className="field-error">{problem}</div>}
          </div>
        </div>
      </Card>
      <Card title="Model">
        <div className="stack">
          <SelectField
            label="Backbone"
            value={chosen?.name ?? ''}
            onChange={(e) => setBackbone(e.target.value)}
            hint={
              chosen ? (
                <>
                  {chosen.description}
                  {chosen.dim ? ` · ${chosen.dim}-dimensional embeddings` : ''}
                  {unavailable.length > 0 && (
                    <details className="small" data-testid="unavailable-backbones">
                      <summary>
                        {unavailable.length} more {unavailable.length === 1 ? 'backbone is' : 'backbones are'} not installed on this server
                      </summary>
                      <ul className="plain-list">
                        {unavailable.map((b) => (
                          <li key={b.name}>
                            <strong>{b.name}</strong>: {b.detail ?? 'its weights are not installed on the server.'}
                          </li>
                        ))}
                      </ul>
                    </details>
                  )}
                </>
              ) : backbones.isPending ? (
                'Loading backbones…'
              ) : backbones.error ? (
                'Could not load the list of backbones; the server default is used.'
              ) : (
                'The server default is used.'
              )
            }
            error={chosen && !chosen.available ? (chosen.detail ?? 'This backbone is not available on the server.') : null}
          >
            {choices.length === 0 && <option value="">Server default</option>}
            {choices.map((b) => (
              <option key={b.name} value={b.name} disabled={!b.available} title={b.available ? b.description : (b.detail ?? undefined)}>
                {b.name}
                {b.default ? ' (default)' : ''}
                {b.available ? '' : ' — unavailable'}
                {b.benchmark ? ` · ${speedLabel(b)}` : ''}
              </option>
            ))}
          </SelectField>
          <BackboneBenchmarks backbones={choices} chosen={chosen?.name} />
          <div className="grid-2">
            <QueueFields strategy={strategy ?? recommended ?? ''} onStrategy={setStrategy} precision={precision} onPrecision={setPrecision} />
          </div>
        </div>
      </Card>
      <ErrorMessage error={create.error} title="Could not create the project" />
      <div className="row-end">
        <Button variant="ghost" onClick={() => router.back()}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" busy={busy} disabled={!name.trim()}>
          Create project
        </Button>
      </div>
    </form>
  );
}
