'use client';
import { useState } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { type ExportContent, type ExportFormat, useExport } from '@/lib/api/queries';
import type { Project } from '@/lib/api/types';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/misc';

/** The downloads of a project's labels, predictions and final labels, and the datasets to train on elsewhere. */
export function ExportCard({ project }: { project: Project }) {
  const exporting = useExport(project);
  const [annotators, setAnnotators] = useState(false);
  const [unlabeled, setUnlabeled] = useState(false);
  const images = project.task !== 'text_classification';
  const download = (format: ExportFormat, content: ExportContent = 'labels') =>
    exporting.mutate({ format, content, annotators: (content === 'items' || format === 'parquet') && annotators, unlabeled });
  const busy = exporting.isPending ? `${exporting.variables.content}-${exporting.variables.format}` : null;
  const error = exporting.error;
  return (
    <Card title="Export labels and predictions">
      <div className="stack-sm">
        <p className="muted">One row per annotation: item, text or file name, labels, annotator, source (human, suggestion, import).</p>
        <div className="row">
          <Button onClick={() => download('csv')} busy={busy === 'labels-csv'}>
            Download CSV
          </Button>
          <Button onClick={() => download('jsonl')} busy={busy === 'labels-jsonl'}>
            Download JSONL
          </Button>
        </div>
        <p className="muted">
          The model&apos;s predictions for every item: predicted labels, confidence, the probability of each label and the model version — to let the model label the rest.
        </p>
        <div className="row">
          <Button onClick={() => download('csv', 'predictions')} busy={busy === 'predictions-csv'}>
            Predictions CSV
          </Button>
          <Button onClick={() => download('jsonl', 'predictions')} busy={busy === 'predictions-jsonl'}>
            Predictions JSONL
          </Button>
        </div>
        <p className="muted">
          One row per labeled item with its final label — a reviewer&apos;s resolution, the only annotation, or the annotators&apos; majority — how it was decided (single, majority, review, suggestion, tie) and the share of
          annotators who agree with it.
        </p>
        <label className="row small">
          <input type="checkbox" checked={annotators} onChange={(e) => setAnnotators(e.target.checked)} /> With every annotator&apos;s labels (a column per annotator)
        </label>
        <div className="row">
          <Button onClick={() => download('csv', 'items')} busy={busy === 'items-csv'}>
            Final labels CSV
          </Button>
          <Button onClick={() => download('jsonl', 'items')} busy={busy === 'items-jsonl'}>
            Final labels JSONL
          </Button>
        </div>
        <p className="muted">
          A dataset to train on elsewhere, with the final labels: a Hugging Face <code>datasets</code> Parquet file ({images ? 'image bytes' : 'texts'}, the label a ClassLabel; with every annotator&apos;s labels when
          ticked above){images ? ', or a zip of one folder per label (ImageNet style)' : ''}.
        </p>
        <label className="row small">
          <input type="checkbox" checked={unlabeled} onChange={(e) => setUnlabeled(e.target.checked)} /> With unlabeled items{images ? ' (in the zip: the folder _unlabeled)' : ''}
        </label>
        <div className="row">
          <Button onClick={() => download('parquet', 'items')} busy={busy === 'items-parquet'}>
            Hugging Face Parquet
          </Button>
          {images ? (
            <Button onClick={() => download('imagefolder', 'items')} busy={busy === 'items-imagefolder'}>
              Image folders (zip)
            </Button>
          ) : null}
        </div>
        {error ? <ErrorMessage error={new Error(errorMessage(error))} /> : null}
      </div>
    </Card>
  );
}
