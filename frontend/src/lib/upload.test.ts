import { afterEach, describe, expect, it, vi } from 'vitest';
import { isJunk, perFileProgress, planBatches, planDirectUpload, rejectionReason, resetDirectUploads } from './upload';

describe('upload helpers', () => {
  it('explains files the project cannot take', () => {
    expect(rejectionReason({ name: 'a.jpg' }, 'image')).toBeNull();
    expect(rejectionReason({ name: 'photos.zip' }, 'image')).toBeNull();
    expect(rejectionReason({ name: 'notes.docx' }, 'image')).toBe('Not an image or a .zip of images.');
    expect(rejectionReason({ name: 'data.csv' }, 'text')).toBeNull();
    expect(rejectionReason({ name: 'a.png' }, 'text')).toMatch(/text project/);
    // Label Studio JSON exports, and zips of other tools' exports, for either kind of project
    expect(rejectionReason({ name: 'project-1.json' }, 'text')).toBeNull();
    expect(rejectionReason({ name: 'project-1.json' }, 'image')).toBeNull();
    expect(rejectionReason({ name: 'hf-dataset.zip' }, 'text')).toBeNull();
  });

  it('skips hidden files from dropped folders', () => {
    expect(isJunk('photos/.DS_Store')).toBe(true);
    expect(isJunk('__MACOSX/a.jpg')).toBe(true);
    expect(isJunk('photos/a.jpg')).toBe(false);
  });

  it('spreads the bytes sent of one request over its files in order', () => {
    expect(perFileProgress([100, 100], 0, 200)).toEqual([0, 0]);
    expect(perFileProgress([100, 100], 150, 200)).toEqual([1, 0.5]);
    expect(perFileProgress([100, 100], 200, 200)).toEqual([1, 1]);
    // multipart overhead is shared
    expect(perFileProgress([100, 100], 110, 220)).toEqual([1, 0]);
  });

  it('batches by size and count', () => {
    const files = [50, 50, 50, 200, 10].map((size) => ({ file: { size } }));
    expect(planBatches(files, 120, 10).map((b) => b.length)).toEqual([2, 1, 1, 1]);
    expect(planBatches(files, 1000, 2).map((b) => b.length)).toEqual([2, 2, 1]);
  });
});

describe('direct uploads', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    resetDirectUploads();
  });
  const big = [{ file: new File(['x'], 'a.zip'), path: 'a.zip' }];

  it('asks for presigned URLs with the names, sizes and dataset', async () => {
    const fetch = vi.fn(async (request: Request) => {
      expect(await request.json()).toEqual({ files: [{ name: 'a.zip', size: 1 }], dataset: 'batch 2' });
      return new Response(JSON.stringify({ upload_id: 9, files: [{ name: 'a.zip', url: 'https://bucket/a' }] }), { status: 201, headers: { 'Content-Type': 'application/json' } });
    });
    vi.stubGlobal('fetch', fetch);
    expect(await planDirectUpload(1, big, 'batch 2')).toEqual({ upload_id: 9, files: [{ name: 'a.zip', url: 'https://bucket/a' }] });
  });

  it('falls back (null) on 409 from a server with local storage, and does not ask again', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ detail: 'Direct uploads need S3 storage' }), { status: 409, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', fetch);
    expect(await planDirectUpload(1, big, undefined)).toBeNull();
    expect(await planDirectUpload(1, big, undefined)).toBeNull();
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
