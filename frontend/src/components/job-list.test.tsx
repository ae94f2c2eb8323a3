import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Job } from '@/lib/api/types';
import { formatEta, formatRate } from '@/lib/time';
import { JobRow, jobPace } from './job-list';

const base: Job = {
  id: 7,
  project_id: 3,
  type: 'embed',
  status: 'running',
  progress: 0.4,
  message: 'embedded 128 of 320 items',
  errors: [],
  result: { done: 128, total: 320, unit: 'items' },
  device: 'cpu',
  created_at: '2026-12-03T12:00:00',
  started_at: '2026-12-03T12:00:01',
  finished_at: null,
  rate_per_second: 21.3,
  eta_seconds: 9.1,
};

describe('JobRow', () => {
  it('shows the bar, the measured rate and the time left while running', () => {
    render(<JobRow job={base} />);
    expect(screen.getByRole('progressbar', { name: 'Computing embeddings' })).toBeInTheDocument();
    expect(screen.getByText('40%')).toBeInTheDocument();
    expect(screen.getByTestId('job-pace')).toHaveTextContent('21 items/s · about 10 s left');
    // the running counts are the bar's, not a "done 128 · total 320" summary
    expect(screen.queryByText(/total 320/)).not.toBeInTheDocument();
  });

  it('says nothing of a pace before the API measured one', () => {
    render(<JobRow job={{ ...base, progress: 0, rate_per_second: null, eta_seconds: null }} />);
    expect(screen.queryByTestId('job-pace')).not.toBeInTheDocument();
    expect(jobPace({ ...base, status: 'done' })).toBe('');
  });

  it("lists an ended job's warnings", () => {
    const ended = { ...base, type: 'ingest', status: 'done', progress: 1, message: '0 new items', result: { created: 0, warnings: ['t.csv: no rows below its header, so nothing was added'] }, rate_per_second: null, eta_seconds: null } as Job;
    render(<JobRow job={ended} />);
    expect(screen.getByRole('list', { name: 'Warnings' })).toHaveTextContent('t.csv: no rows below its header');
  });
});

describe('JobRow errors', () => {
  it('names a file once, also for errors stored with the name in front', () => {
    const errors = [
      { name: 'bad/corrupt.jpg', error: 'bad/corrupt.jpg: the image is corrupt or truncated' },
      { name: 'notes.png', error: 'not an image' },
    ];
    render(<JobRow job={{ ...base, type: 'ingest', status: 'done', progress: 1, errors, rate_per_second: null, eta_seconds: null } as Job} />);
    const items = screen.getAllByRole('listitem').filter((li) => li.closest('[aria-label="Files that could not be used"]'));
    expect(items.map((li) => li.textContent)).toEqual(['bad/corrupt.jpg: the image is corrupt or truncated', 'notes.png: not an image']);
  });
});

describe('formatEta and formatRate', () => {
  it('round to what people read', () => {
    expect(formatEta(null)).toBe('');
    expect(formatEta(3)).toBe('almost done');
    expect(formatEta(42)).toBe('about 40 s left');
    expect(formatEta(600)).toBe('about 10 min left');
    expect(formatEta(3 * 3600)).toBe('about 3.0 h left');
    expect(formatRate(0.84)).toBe('0.8 items/s');
    expect(formatRate(undefined)).toBe('');
  });
});
