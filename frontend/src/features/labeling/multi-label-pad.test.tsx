import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { MultiLabelPad, initialSelection } from './multi-label-pad';

const labels = ['person', 'car', 'dog'];
const prediction = { labels: ['person'], scores: { person: 0.92, car: 0.3, dog: 0.55 } };

function setup(extra = {}) {
  const props = { labels, prediction, onLabel: vi.fn(), onSkip: vi.fn(), onBack: vi.fn(), ...extra };
  render(<MultiLabelPad {...props} />);
  return props;
}

describe('MultiLabelPad', () => {
  it('pre-checks labels the model puts above 0.5', () => {
    expect([...initialSelection(labels, prediction, null)]).toEqual(['person', 'dog']);
    expect([...initialSelection(labels, prediction, ['car'])]).toEqual(['car']);
    setup();
    expect(screen.getByRole('checkbox', { name: /person/ })).toHaveAttribute('aria-checked', 'true');
    expect(screen.getByRole('checkbox', { name: /car/ })).toHaveAttribute('aria-checked', 'false');
  });

  it('toggles with number keys and submits the set with Enter, in project order', () => {
    const { onLabel } = setup();
    fireEvent.keyDown(window, { key: '3' }); // dog off
    fireEvent.keyDown(window, { key: '2' }); // car on
    fireEvent.keyDown(window, { key: 'Enter' });
    expect(onLabel).toHaveBeenCalledWith(['person', 'car']);
  });

  it('submits the empty set with 0 or the "None of these" button', () => {
    const { onLabel } = setup();
    fireEvent.keyDown(window, { key: '0' });
    fireEvent.click(screen.getByRole('button', { name: /None of these/ }));
    expect(onLabel).toHaveBeenNthCalledWith(1, []);
    expect(onLabel).toHaveBeenNthCalledWith(2, []);
  });

  it('ignores Enter with nothing checked and says how to give "none"', () => {
    const { onLabel } = setup({ prediction: null });
    expect(screen.queryByTestId('none-hint')).not.toBeInTheDocument();
    fireEvent.keyDown(window, { key: 'Enter' });
    expect(onLabel).not.toHaveBeenCalled();
    expect(screen.getByTestId('none-hint')).toHaveTextContent(/press 0 if none of them do/);
    expect(screen.getByRole('button', { name: /Nothing checked/ })).toBeDisabled();
    fireEvent.keyDown(window, { key: '2' }); // car on: the hint goes, Enter submits
    expect(screen.queryByTestId('none-hint')).not.toBeInTheDocument();
    fireEvent.keyDown(window, { key: 'Enter' });
    expect(onLabel).toHaveBeenCalledWith(['car']);
  });

  it('shows per-label probabilities', () => {
    setup();
    expect(screen.getByText('92%')).toBeInTheDocument();
    expect(screen.getByText('55%')).toBeInTheDocument();
  });
});
