import { describe, expect, it, vi } from 'vitest';
import { LabelQueue } from './label-queue';

const items = (...ids: number[]) => ids.map((id) => ({ id }));

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('LabelQueue', () => {
  it('loads a first batch and exposes the current item', async () => {
    const fetchBatch = vi.fn().mockResolvedValue(items(1, 2, 3, 4, 5, 6));
    const queue = new LabelQueue({ fetchBatch, batchSize: 6 });
    await queue.refill(true);
    expect(queue.current).toEqual({ id: 1 });
    expect(fetchBatch).toHaveBeenCalledWith(6, []);
  });

  it('prefetches in the background when three or fewer items remain', async () => {
    const fetchBatch = vi.fn().mockResolvedValueOnce(items(1, 2, 3, 4, 5)).mockResolvedValueOnce(items(6, 7, 8));
    const queue = new LabelQueue({ fetchBatch, batchSize: 5, lowWater: 3 });
    await queue.refill(true);
    queue.advance(); // 4 remain: no fetch
    expect(fetchBatch).toHaveBeenCalledTimes(1);
    queue.advance(); // 3 remain: fetch
    expect(fetchBatch).toHaveBeenCalledTimes(2);
    // asks for a batch, excluding every id it already holds
    expect(fetchBatch).toHaveBeenLastCalledWith(5, [1, 2, 3, 4, 5]);
    expect(queue.current).toEqual({ id: 3 });
    await queue.refill();
    expect(queue.getSnapshot().items.map((i) => i.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('does not fetch twice while a fetch is in flight', async () => {
    const first = deferred<{ id: number }[]>();
    const fetchBatch = vi.fn().mockReturnValueOnce(first.promise);
    const queue = new LabelQueue({ fetchBatch });
    void queue.refill(true);
    void queue.refill(true);
    expect(fetchBatch).toHaveBeenCalledTimes(1);
    first.resolve(items(1));
    await queue.refill();
  });

  it('drops ids already held or seen this session', async () => {
    const fetchBatch = vi.fn().mockResolvedValueOnce(items(1, 2)).mockResolvedValueOnce(items(1, 2, 3));
    const onAdded = vi.fn();
    const queue = new LabelQueue({ fetchBatch, onAdded });
    await queue.refill(true);
    queue.advance();
    await queue.refill(true);
    expect(queue.getSnapshot().items.map((i) => i.id)).toEqual([1, 2, 3]);
    expect(onAdded).toHaveBeenLastCalledWith([{ id: 3 }]);
  });

  it('goes back to the previous item and forward again', async () => {
    const queue = new LabelQueue({ fetchBatch: vi.fn().mockResolvedValue(items(1, 2, 3, 4, 5, 6)) });
    await queue.refill(true);
    expect(queue.back()).toBeUndefined();
    queue.advance();
    queue.advance();
    expect(queue.back()).toEqual({ id: 2 });
    expect(queue.advance()).toEqual({ id: 3 });
  });

  it('reports exhaustion and waits before asking again', async () => {
    let now = 0;
    const fetchBatch = vi.fn().mockResolvedValue([]);
    const queue = new LabelQueue({ fetchBatch, retryMs: 1000, now: () => now });
    await queue.refill(true);
    expect(queue.getSnapshot().exhausted).toBe(true);
    await queue.refill();
    expect(fetchBatch).toHaveBeenCalledTimes(1);
    now = 1500;
    await queue.refill();
    expect(fetchBatch).toHaveBeenCalledTimes(2);
  });

  it('keeps the error of a failed fetch', async () => {
    const queue = new LabelQueue({ fetchBatch: vi.fn().mockRejectedValue(new Error('down')) });
    await queue.refill(true);
    expect(queue.getSnapshot().error).toEqual(new Error('down'));
  });

  it('notifies subscribers with a new snapshot', async () => {
    const queue = new LabelQueue({ fetchBatch: vi.fn().mockResolvedValue(items(1, 2)) });
    const listener = vi.fn();
    queue.subscribe(listener);
    const before = queue.getSnapshot();
    await queue.refill(true);
    expect(listener).toHaveBeenCalled();
    expect(queue.getSnapshot()).not.toBe(before);
    expect(queue.getSnapshot().current).toEqual({ id: 1 });
  });

  it('replaces upcoming items with fresher copies but never the current one', async () => {
    const fetchBatch = vi.fn().mockResolvedValue([1, 2, 3, 4].map((id) => ({ id, v: 1 })));
    const queue = new LabelQueue<{ id: number; v: number }>({ fetchBatch, batchSize: 4, lowWater: 0 });
    await queue.refill(true);
    queue.advance(); // on item 2
    const current = queue.current;
    const replaced = queue.replaceUpcoming([1, 2, 3, 4, 9].map((id) => ({ id, v: 2 })));
    expect(replaced).toBe(2);
    expect(queue.current).toBe(current);
    expect(queue.getSnapshot().items.map((i) => `${i.id}:${i.v}`)).toEqual(['1:1', '2:1', '3:2', '4:2']);
    expect(queue.replaceUpcoming([])).toBe(0);
  });
});
