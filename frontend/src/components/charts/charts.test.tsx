import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ConfusionMatrix } from './confusion-matrix';
import { LearningCurve } from './learning-curve';
import { PrecisionRecallBars } from './precision-recall-bars';

describe('charts', () => {
  it('draws the learning curve through every model, sorted by label count', () => {
    const { container } = render(
      <LearningCurve
        points={[
          { x: 40, y: 0.7 },
          { x: 10, y: 0.55 },
          { x: 20, y: 0.62, highlight: true },
        ]}
      />,
    );
    const d = screen.getByTestId('curve-path').getAttribute('d') ?? '';
    expect(d.match(/[ML]/g)).toHaveLength(3);
    expect(container.querySelectorAll('circle')).toHaveLength(3);
    expect(container.querySelector('.dot-active')).not.toBeNull();
    const xs = d.split(/[ML]/).filter(Boolean).map((pair) => Number(pair.split(',')[0]));
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });

  it('marks fine-tuned versions with diamonds and leaves rejected ones out of the line', () => {
    const { container } = render(
      <LearningCurve
        points={[
          { x: 10, y: 0.6 },
          { x: 20, y: 0.7, finetuned: true, highlight: true },
          { x: 30, y: 0.65, finetuned: true, rejected: true },
          { x: 30, y: 0.72 },
        ]}
      />,
    );
    const d = screen.getByTestId('curve-path').getAttribute('d') ?? '';
    expect(d.match(/[ML]/g)).toHaveLength(3);
    expect(container.querySelectorAll('[data-marker="finetuned"]')).toHaveLength(2);
    expect(container.querySelectorAll('[data-marker="head"]')).toHaveLength(2);
    expect(container.querySelectorAll('.dot-rejected')).toHaveLength(1);
    expect(screen.getByText('rejected (not used)')).toBeInTheDocument();
  });

  it('renders a confusion matrix with one cell per pair', () => {
    render(
      <ConfusionMatrix
        labels={['neg', 'pos']}
        matrix={[
          [8, 2],
          [1, 9],
        ]}
      />,
    );
    expect(screen.getByRole('table')).toBeInTheDocument();
    expect(screen.getAllByRole('cell')).toHaveLength(4);
    expect(screen.getByTitle('true neg, predicted pos: 2')).toHaveTextContent('2');
  });

  it('renders precision and recall bars per label', () => {
    render(
      <PrecisionRecallBars
        labels={['car', 'dog']}
        perLabel={{
          car: { precision: 0.9, recall: 0.5, f1: 0.64, support: 10 },
          dog: { precision: 0.4, recall: 0.8, f1: 0.53, support: 5 },
        }}
      />,
    );
    expect(screen.getAllByTestId('pr-row')).toHaveLength(2);
    const [car, dog] = screen.getAllByTestId('pr-row');
    expect(car).toHaveTextContent('90 / 50% · 10 labeled');
    expect(dog).toHaveTextContent('5 labeled'); // below 10 labels: the count, no figure
    expect(dog).not.toHaveTextContent('40 / 80%');
  });
});
