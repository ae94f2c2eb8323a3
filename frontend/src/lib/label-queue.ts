// The labeling queue kept in the browser. Items come from GET /queue in batches; when few remain
// (≤ lowWater, counting the current one) the next batch is fetched in the background so the
// annotator never waits. The ids seen this session are sent as `exclude` (the server would
// otherwise hand back items still leased to us) and are dropped from answers all the same.

/** Ids sent back as `exclude`, newest first kept; older ones are labeled or long expired. */
const MAX_EXCLUDE = 300;

export interface QueueEntry {
  id: number;
}

export interface LabelQueueOptions<T> {
  fetchBatch: (limit: number, exclude: number[]) => Promise<T[]>;
  batchSize?: number;
  lowWater?: number;
  /** Called with every newly added item, e.g. to prefetch images. */
  onAdded?: (items: T[]) => void;
  /** After a fetch brings nothing new, wait this long before asking again. */
  retryMs?: number;
  now?: () => number;
}

export interface QueueSnapshot<T> {
  current: T | undefined;
  position: number;
  items: readonly T[];
  loading: boolean;
  exhausted: boolean;
  error: unknown;
  version: number;
}

export class LabelQueue<T extends QueueEntry> {
  private items: T[] = [];
  private position = 0;
  private seen = new Set<number>();
  private inflight: Promise<void> | null = null;
  private exhaustedAt: number | null = null;
  private error: unknown = null;
  private version = 0;
  private listeners = new Set<() => void>();
  private snapshot: QueueSnapshot<T>;
  private readonly batchSize: number;
  private readonly lowWater: number;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly options: LabelQueueOptions<T>) {
    this.batchSize = options.batchSize ?? 10;
    this.lowWater = options.lowWater ?? 3;
    this.retryMs = options.retryMs ?? 4000;
    this.now = options.now ?? Date.now;
    this.snapshot = this.makeSnapshot();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): QueueSnapshot<T> => this.snapshot;

  /** Items not yet labeled, the current one included. */
  get remaining(): number {
    return this.items.length - this.position;
  }

  get current(): T | undefined {
    return this.items[this.position];
  }

  /** Items after the current one, for prefetching their content. */
  upcoming(count: number): T[] {
    return this.items.slice(this.position + 1, this.position + 1 + count);
  }

  /**
   * Swaps in newer copies of held items that are not on screen yet (e.g. with predictions of a
   * newer model). The current item and the ones behind it are left as they are, so what the
   * annotator is looking at does not change under them. Returns how many were replaced.
   */
  replaceUpcoming(fresh: readonly T[]): number {
    const byId = new Map(fresh.map((item) => [item.id, item]));
    let replaced = 0;
    const items = this.items.map((held, index) => {
      const newer = index > this.position ? byId.get(held.id) : undefined;
      if (!newer) return held;
      replaced += 1;
      return newer;
    });
    if (replaced) {
      this.items = items;
      this.emit();
    }
    return replaced;
  }

  /**
   * Drops items labeled elsewhere (e.g. given a near-duplicate's label) from what is still to
   * come, the current item included; the ones behind stay, so going back still works.
   * Returns how many were dropped.
   */
  drop(ids: readonly number[]): number {
    const gone = new Set(ids);
    const kept = this.items.filter((item, index) => index < this.position || !gone.has(item.id));
    const dropped = this.items.length - kept.length;
    if (dropped) {
      this.items = kept;
      this.emit();
      void this.refill();
    }
    return dropped;
  }

  /** Fetch a batch if we are running low; resolves when that fetch (if any) is done. */
  refill(force = false): Promise<void> {
    if (this.inflight) return this.inflight;
    if (!force && this.remaining > this.lowWater) return Promise.resolve();
    if (!force && this.exhaustedAt !== null && this.now() - this.exhaustedAt < this.retryMs) return Promise.resolve();
    const exclude = Array.from(this.seen).slice(-MAX_EXCLUDE);
    this.inflight = this.options
      .fetchBatch(this.batchSize, exclude)
      .then((batch) => {
        this.error = null;
        const fresh = batch.filter((item) => !this.seen.has(item.id));
        for (const item of fresh) this.seen.add(item.id);
        this.items.push(...fresh);
        this.exhaustedAt = fresh.length === 0 ? this.now() : null;
        if (fresh.length) this.options.onAdded?.(fresh);
      })
      .catch((error: unknown) => {
        this.error = error;
        this.exhaustedAt = this.now();
      })
      .finally(() => {
        this.inflight = null;
        this.emit();
      });
    this.emit();
    return this.inflight;
  }

  /** Moves past the current item (labeled or skipped) and tops up in the background. */
  advance(): T | undefined {
    if (this.position < this.items.length) this.position += 1;
    this.emit();
    void this.refill();
    return this.current;
  }

  /** Goes back to the previous item; returns it, or undefined at the start. */
  back(): T | undefined {
    if (this.position === 0) return undefined;
    this.position -= 1;
    this.emit();
    return this.current;
  }

  get canGoBack(): boolean {
    return this.position > 0;
  }

  private makeSnapshot(): QueueSnapshot<T> {
    return {
      current: this.items[this.position],
      position: this.position,
      items: this.items,
      loading: this.inflight !== null,
      exhausted: this.remaining === 0 && this.exhaustedAt !== null && this.inflight === null,
      error: this.error,
      version: this.version,
    };
  }

  private emit(): void {
    this.version += 1;
    this.snapshot = this.makeSnapshot();
    for (const listener of this.listeners) listener();
  }
}
