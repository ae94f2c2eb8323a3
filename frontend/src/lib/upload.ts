// Upload helpers: which files we accept, walking dropped folders, batching, and XHR uploads with
// progress (fetch cannot report upload progress).
import { getToken, handleUnauthorized } from './auth';
import { API_PREFIX, api, call } from './api/client';
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
  // a zip (images, or a Label Studio / Hugging Face export) and a Label Studio JSON export: the server reads their content
  if (/\.(zip|json)$/i.test(name)) return null;
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
    const file = await new Promise<File>((ok, fail) => entry.file?.(ok, fail));
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
  /** `warnings`: accepted files that will add nothing (a CSV with only its header); the direct
   * path's warnings come with the ingest job's result instead */
  promise: Promise<Pick<UploadAccepted, 'job_id'> & Partial<Pick<UploadAccepted, 'warnings'>>>;
  abort: () => void;
}

/** Batches at least this big go straight to the bucket when the server stores files on S3. */
export const DIRECT_UPLOAD_BYTES = 16 * 1024 * 1024;
/** Set after the server answered 409 (local storage): no point asking again this session. */
let directUnavailable = false;

/**
 * Presigned URLs for a direct-to-bucket upload, or null when the server cannot take one (it
 * stores files locally and answers 409): then the files go through POST /items.
 */
export async function planDirectUpload(projectId: number, files: PendingFile[], dataset: string | undefined) {
  if (directUnavailable) return null;
  try {
    return await call(
      api.POST('/api/v1/projects/{project_id}/uploads', {
        params: { path: { project_id: projectId } },
        body: { files: files.map(({ file, path }) => ({ name: path, size: Math.max(1, file.size) })), dataset: dataset || 'default' },
      }),
    );
  } catch (error) {
    if (error instanceof ApiError && (error.status === 409 || error.status === 404 || error.status === 405)) {
      directUnavailable = true;
      return null;
    }
    throw error;
  }
}

/** Test hook: forget that direct uploads were refused. */
export function resetDirectUploads(): void {
  directUnavailable = false;
}

function putFile(url: string, file: File, onProgress: (loaded: number) => void, track: (xhr: XMLHttpRequest) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    track(xhr);
    xhr.open('PUT', url);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new ApiError(`The storage refused ${file.name} (${xhr.status}).`, xhr.status));
    xhr.onerror = () => reject(new ApiError('The upload to storage was interrupted. Check your connection and try again.', 0));
    xhr.onabort = () => reject(new ApiError('Upload cancelled.', 0));
    xhr.send(file);
  });
}

/**
 * Uploads a batch: big batches straight to the bucket through presigned URLs when the server
 * offers them, everything else (and every batch on local storage) as one multipart POST.
 */
export function uploadFiles(
  projectId: number,
  files: PendingFile[],
  dataset: string | undefined,
  onProgress: (loaded: number, total: number) => void,
): UploadHandle {
  const total = files.reduce((sum, { file }) => sum + file.size, 0);
  if (total < DIRECT_UPLOAD_BYTES || directUnavailable) return uploadBatch(projectId, files, dataset, onProgress);
  let current: { abort: () => void } | null = null;
  let aborted = false;
  const promise = (async () => {
    const plan = await planDirectUpload(projectId, files, dataset);
    if (aborted) throw new ApiError('Upload cancelled.', 0);
    if (!plan) {
      const fallback = uploadBatch(projectId, files, dataset, onProgress);
      current = fallback;
      return fallback.promise;
    }
    const loaded = files.map(() => 0);
    // the plan lists the files in the order they were sent
    for (const [index, { file }] of files.entries()) {
      await putFile(
        plan.files[index].url,
        file,
        (bytes) => {
          loaded[index] = bytes;
          onProgress(loaded.reduce((a, b) => a + b, 0), total);
        },
        (xhr) => (current = xhr),
      );
      loaded[index] = file.size;
    }
    const done = await call(
      api.POST('/api/v1/projects/{project_id}/uploads/{upload_id}/complete', { params: { path: { project_id: projectId, upload_id: plan.upload_id } } }),
    );
    return { job_id: done.job_id ?? plan.upload_id };
  })();
  return {
    promise,
    abort: () => {
      aborted = true;
      current?.abort();
    },
  };
}

export function uploadBatch(
  projectId: number,
  files: PendingFile[],
  dataset: string | undefined,
  onProgress: (loaded: number, total: number) => void,
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const form = new FormData();
  for (const { file, path } of files) form.append('files', file, path);
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

/** A file's bytes as base64, for JSON bodies (POST /score). */
export function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('Could not read the file.'));
    reader.readAsDataURL(file);
  });
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
