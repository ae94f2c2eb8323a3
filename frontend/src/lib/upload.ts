// Upload helpers: which files we accept, walking dropped folders, batching, and XHR uploads with
// progress (fetch cannot report upload progress).
import { getToken, handleUnauthorized } from './auth';
import { API_PREFIX } from './api/client';
import { ApiError, messageFor } from './api/errors';
import type { UploadAccepted } from './api/types';

export interface PendingFile {
  file: File;
  /** Path inside the dropped folder, or the file name; sent as the multipart file name. */
  path: string;
}

const IMAGE_EXT = /\.(jpe?g|png|gif|webp|bmp|tiff?)$/i;
const TEXT_EXT = /\.(csv|jsonl|ndjson)$/i;

/** Why a file cannot be uploaded to this project, in words; null when it is fine. */
export function rejectionReason(file: { name: string; type?: string }, modality: 'image' | 'text'): string | null {
  const name = file.name;
  if (/\.zip$/i.test(name)) return null;
  if (modality === 'image') {
    if (IMAGE_EXT.test(name) || file.type?.startsWith('image/')) return null;
    if (TEXT_EXT.test(name)) return 'This is an image project; CSV and JSONL files hold texts.';
    return 'Not an image or a .zip of images.';
  }
  if (TEXT_EXT.test(name)) return null;
  if (IMAGE_EXT.test(name)) return 'This is a text project; upload a CSV or JSONL file with a "text" column.';
  return 'Not a CSV or JSONL file (a "text" column is required).';
}

/** Hidden files and OS clutter found when a whole folder is dropped. */
export function isJunk(path: string): boolean {
  return path.split('/').some((part) => part.startsWith('.') || part === '__MACOSX' || part === 'Thumbs.db');
}

type Entry = {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath?: string;
  file?: (ok: (file: File) => void, fail: (error: unknown) => void) => void;
  createReader?: () => { readEntries: (ok: (entries: Entry[]) => void, fail: (error: unknown) => void) => void };
};

async function walk(entry: Entry, prefix: string, out: PendingFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile && entry.file) {
    const file = await new Promise<File>((ok, fail) => entry.file!(ok, fail));
    out.push({ file, path });
  } else if (entry.isDirectory && entry.createReader) {
    const reader = entry.createReader();
    // readEntries answers in chunks (100 in Chrome) until it returns an empty list.
    for (;;) {
      const chunk = await new Promise<Entry[]>((ok, fail) => reader.readEntries(ok, fail));
      if (!chunk.length) break;
      for (const child of chunk) await walk(child, path, out);
    }
  }
}

/** Files from a drop, walking into folders where the browser exposes them. */
export async function filesFromDataTransfer(transfer: DataTransfer): Promise<PendingFile[]> {
  const items = Array.from(transfer.items ?? []);
  const entries = items
    .map((item) => (item.kind === 'file' && 'webkitGetAsEntry' in item ? (item.webkitGetAsEntry() as Entry | null) : null))
    .filter((entry): entry is Entry => entry !== null);
  if (!entries.length) return Array.from(transfer.files).map((file) => ({ file, path: file.name }));
  const out: PendingFile[] = [];
  for (const entry of entries) await walk(entry, '', out);
  return out;
}

export function filesFromInput(list: FileList | null): PendingFile[] {
  return Array.from(list ?? []).map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/** Groups files into requests of bounded size so one huge folder is not one huge request. */
export function planBatches<T extends { file: { size: number } }>(files: T[], maxBytes = 48 * 1024 * 1024, maxFiles = 200): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of files) {
    if (current.length && (bytes + entry.file.size > maxBytes || current.length >= maxFiles)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.file.size;
  }
  if (current.length) batches.push(current);
  return batches;
}

/**
 * Per-file progress from the bytes sent of one multipart request: the parts go out in order,
 * so the first files complete first. `total` includes multipart overhead, spread evenly.
 */
export function perFileProgress(sizes: number[], loaded: number, total: number): number[] {
  const payload = sizes.reduce((sum, size) => sum + size, 0);
  const overhead = Math.max(0, total - payload) / Math.max(1, sizes.length);
  let offset = 0;
  return sizes.map((size) => {
    const span = size + overhead;
    const done = Math.min(Math.max(loaded - offset, 0), span);
    offset += span;
    return span === 0 ? (loaded >= total ? 1 : 0) : done / span;
  });
}

export interface UploadHandle {
  promise: Promise<UploadAccepted>;
  abort: () => void;
}

export function uploadBatch(
  projectId: number,
  files: PendingFile[],
  dataset: string | undefined,
  onProgress: (loaded: number, total: number) => void,
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const form = new FormData();
  files.forEach(({ file, path }) => form.append('files', file, path));
  if (dataset) form.append('dataset', dataset);
  const promise = new Promise<UploadAccepted>((resolve, reject) => {
    xhr.open('POST', `${API_PREFIX}/projects/${projectId}/items`);
    const token = getToken();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 401) handleUnauthorized();
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as UploadAccepted);
      else reject(new ApiError(messageFor(xhr.status, body), xhr.status));
    };
    xhr.onerror = () => reject(new ApiError('The upload was interrupted. Check your connection and try again.', 0));
    xhr.onabort = () => reject(new ApiError('Upload cancelled.', 0));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
