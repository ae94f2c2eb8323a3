import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchWhenReady, type Pending } from './client';

const building = (progress: number, message: string) =>
  new Response(JSON.stringify({ detail: 'building', job: { id: 9, progress, message } }), { status: 202, headers: { 'Retry-After': '2' } });

describe('fetchWhenReady', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('polls while the server answers 202, reporting the build progress, then returns the file', async () => {
    const answers = [building(0, 'waiting for a worker'), building(0.3, 'exporting'), new Response('PK', { status: 200 })];
    const fetch = vi.fn(async () => answers.shift() as Response);
    vi.stubGlobal('fetch', fetch);
    const seen: Pending[] = [];
    const response = await fetchWhenReady('/projects/1/models/2/download', (pending) => seen.push(pending), 1);
    expect(await response.text()).toBe('PK');
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(seen).toEqual([
      { progress: 0, message: 'waiting for a worker' },
      { progress: 0.3, message: 'exporting' },
    ]);
  });

  it('gives the reason when the build failed (409)', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ detail: 'Building the archive failed: exporting the model failed' }), { status: 409 })));
    await expect(fetchWhenReady('/projects/1/models/2/download', undefined, 1)).rejects.toThrow(/Building the archive failed/);
  });
});
