import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { SingleLabelPad } from './single-label-pad';

function setup(extra: Partial<Parameters<typeof SingleLabelPad>[0]> = {}) {
  const props = { labels: ['negative', 'positive'], onLabel: vi.fn(), onSkip: vi.fn(), onBack: vi.fn(), ...extra };
  render(<SingleLabelPad {...props} />);
  return props;
}

describe('SingleLabelPad', () => {
  it('labels with number keys', () => {
    const { onLabel } = setup();
    fireEvent.keyDown(window, { key: '2' });
    expect(onLabel).toHaveBeenCalledWith(['positive']);
  });

  it('confirms the prediction with Enter, and ignores Enter without one', () => {
    const first = setup();
    fireEvent.keyDown(window, { key: 'Enter' });
    expect(first.onLabel).not.toHaveBeenCalled();
  });

  it('Enter takes the predicted label', () => {
    const { onLabel } = setup({ prediction: { labels: ['negative'], scores: { negative: 0.9, positive: 0.1 } } });
    fireEvent.keyDown(window, { key: 'Enter' });
    expect(onLabel).toHaveBeenCalledWith(['negative']);
    expect(screen.getByText('90%')).toBeInTheDocument();
  });

  it('skips with S and goes back with Backspace or the left arrow', () => {
    const { onSkip, onBack } = setup();
    fireEvent.keyDown(window, { key: 's' });
    fireEvent.keyDown(window, { key: 'Backspace' });
    fireEvent.keyDown(window, { key: 'ArrowLeft' });
    expect(onSkip).toHaveBeenCalledTimes(1);
    expect(onBack).toHaveBeenCalledTimes(2);
  });

  it('ignores keys typed into a text field and held-down repeats', () => {
    const { onLabel } = setup();
    const input = document.createElement('input');
    document.body.appendChild(input);
    fireEvent.keyDown(input, { key: '1' });
    fireEvent.keyDown(window, { key: '1', repeat: true });
    expect(onLabel).not.toHaveBeenCalled();
    input.remove();
  });

  it('shows each label with its key and colours sentiment labels', () => {
    setup();
    const button = screen.getByRole('button', { name: /negative/ });
    expect(button).toHaveClass('tone-negative');
    expect(button).toHaveTextContent('1');
    fireEvent.click(screen.getByRole('button', { name: /positive/ }));
  });
});
