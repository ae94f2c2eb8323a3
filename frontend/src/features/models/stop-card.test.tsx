import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Forecast, StopAdvice } from '@/lib/api/quality';
import { StopView } from './stop-card';

const forecast: Forecast = {
  metric: 'accuracy',
  basis: 'audit',
  points: [
    { version: 1, labels: 300, value: 0.8, support: 30 },
    { version: 2, labels: 320, value: 0.81, support: 32 },
  ],
  labels_now: 320,
  fitted_now: 0.812,
  ceiling: { value: 0.86, low: 0.83, high: 0.9 },
  target: 0.85,
  labels_needed: { value: 900, low: 600, high: 2000 },
  more_labels: { value: 580, low: 280, high: 1680 },
  flattened: false,
  gain_if_doubled: 0.021,
  law: { a: 0.86, b: 1, c: 0.5 },
  message: 'About 580 more labels (95 % interval 280 to 1,700) for one more point of accuracy (82.2%)',
};

const point = (version: number, labels: number, kappa: number | null) => ({ version, labels, kappa, compared: 500, reference_version: kappa == null ? null : version - 1 });

const advice: StopAdvice = {
  threshold: 0.99,
  window: 3,
  check_every: 10,
  stop_set: 500,
  history: [point(1, 10, null), point(2, 20, 0.8), point(3, 30, 0.995), point(4, 40, 0.996), point(5, 50, 0.999)],
  stopped: true,
  fired_at: point(5, 50, 0.999),
  message: 'The model has stopped changing: kappa between successive checks has been at least 0.99 for the last 3 checks (50 labels).',
};

describe('StopView', () => {
  it('says how many labels are left, on which curve', () => {
    render(<StopView forecast={forecast} advice={undefined} />);
    expect(screen.getByTestId('forecast-message')).toHaveTextContent('About 580 more labels (95 % interval 280 to 1,700)');
    expect(screen.getByText('audited curve')).toBeInTheDocument();
    expect(screen.getByTestId('forecast')).toHaveTextContent('accuracy about 81.2% on the fitted curve at 320 labels; doubling them would add about 2.1 points');
  });

  it('charts kappa by labels and says the model stopped changing', () => {
    render(<StopView forecast={undefined} advice={advice} />);
    expect(screen.getByTestId('stop-message')).toHaveTextContent('stopped changing');
    expect(screen.getByText('stopped changing')).toBeInTheDocument();
    const chart = screen.getByRole('img', { name: 'κ between successive checks by number of labels' });
    expect(chart.querySelectorAll('[data-marker="head"]')).toHaveLength(4); // the first check compares with nothing
    expect(chart.querySelector('.dot-active title')?.textContent).toBe('v5 · 50 labels: 1.00');
    expect(screen.getByTestId('stop-advice')).toHaveTextContent('stop set of 500 items');
  });

  it('shows no chart before a comparison', () => {
    render(<StopView forecast={undefined} advice={{ ...advice, history: [point(1, 10, null)], stopped: false, fired_at: null, message: 'No comparison yet' }} />);
    expect(screen.queryByRole('img')).toBeNull();
    expect(screen.queryByText('still changing')).toBeNull();
  });
});
