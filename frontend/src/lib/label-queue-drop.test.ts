import { describe, expect, it } from 'vitest';
import { LabelQueue } from './label-queue';

describe('LabelQueue.drop', () => {
  it('takes items labeled elsewhere off what is still to come, the current one included', async () => {
    let next = 1;
    const queue = new LabelQueue<{ id: number }>({
      batchSize: 5,
      lowWater: 0,
      fetchBatch: async (limit) => Array.from({ length: limit }, () => ({ id: next++ })),
    });
    await queue.refill(true);
    queue.advance(); // 1 is behind us
    expect(queue.current?.id).toBe(2);
    expect(queue.drop([1, 2, 4])).toBe(2); // 1 stays: going back still works
    expect(queue.current?.id).toBe(3);
    expect(queue.upcoming(5).map((item) => item.id)).toEqual([5]);
    expect(queue.back()?.id).toBe(1);
    expect(queue.drop([99])).toBe(0);
  });
});
