// Shared pieces of the browser flows: data from the shared datasets, pages with a session, the
// API as the signed-in user (to wait on server state), screenshots, and the keypress probe.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type APIRequestContext, type Browser, expect, type Locator, type Page, request, type TestInfo } from '@playwright/test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DATASETS = process.env.FILAMENT_DATASETS ?? resolve(ROOT, '../shared/datasets');
export const SHOTS = resolve(process.env.FILAMENT_E2E_ARTIFACTS ?? join(ROOT, 'test-artifacts'), 'screenshots');
export const BASE = (process.env.FILAMENT_E2E_URL ?? '').replace(/\/$/, '');

const started = Date.now();
/** Progress lines with the seconds since the run started, as the old runner printed them. */
export const log = (...args: unknown[]) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`, ...args);

// ---------- data ----------

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1 || r[0]);
}

export const csvField = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export const readCsv = (path: string) => parseCsv(readFileSync(path, 'utf8'));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A .zip (stored, no compression) of `files`: enough for an upload test. */
export function zipStore(files: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralSize = centrals.reduce((sum, b) => sum + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

// ---------- pages, API, screenshots ----------

/** Console errors of every page opened here; the ones the CSP caused fail the spec (afterAll). */
export class ConsoleWatch {
  readonly errors: string[] = [];

  watch(page: Page): void {
    page.on('pageerror', (error) => this.errors.push(`pageerror: ${error.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/status of 40[14]|Failed to load resource/.test(msg.text())) this.errors.push(msg.text());
    });
  }

  /** The API sends a Content-Security-Policy with the web app: anything it blocked is a bug. */
  expectNoCspViolations(): void {
    if (this.errors.length) console.log(`Browser console errors:\n  ${this.errors.slice(0, 20).join('\n  ')}`);
    const violations = this.errors.filter((text) => /Content Security Policy/i.test(text));
    expect(violations, 'CSP violations in the browser console').toEqual([]);
  }
}

/**
 * A page in a fresh context (downloads allowed), signed in when a token is given: the token is in
 * localStorage from the start, as after signing in, and signing out removes it for good.
 */
export async function openPage(browser: Browser, watch: ConsoleWatch, { viewport = { width: 1280, height: 800 }, token }: { viewport?: { width: number; height: number }; token?: string } = {}): Promise<Page> {
  const storageState = token ? { cookies: [], origins: [{ origin: BASE, localStorage: [{ name: 'filament.token', value: token }] }] } : undefined;
  const context = await browser.newContext({ baseURL: BASE, viewport, acceptDownloads: true, deviceScaleFactor: 1, storageState });
  const page = await context.newPage();
  watch.watch(page);
  return page;
}

/** The REST API as the signed-in user, for setting up and waiting on server state. */
export function apiAs(token: string): Promise<APIRequestContext> {
  return request.newContext({ baseURL: `${BASE}/api/v1/`, extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
}

/** Registers a user through the API and returns their token. */
export async function registerUser(email: string, password: string, name: string): Promise<string> {
  const anonymous = await request.newContext({ baseURL: `${BASE}/api/v1/` });
  const registered = await anonymous.post('auth/register', { data: { email, password, name } });
  expect(registered.status(), await registered.text()).toBe(201);
  const signedIn = await anonymous.post('auth/token', { form: { username: email, password } });
  expect(signedIn.ok(), await signedIn.text()).toBe(true);
  const { access_token } = (await signedIn.json()) as { access_token: string };
  await anonymous.dispose();
  return access_token;
}

/** Make a registered user a member the way the API lets an owner: an invitation, accepted
 * with the member's own token. */
export async function joinProject(owner: APIRequestContext, projectId: number, email: string, role: string, memberToken: string): Promise<void> {
  const invited = await owner.post(`projects/${projectId}/invitations`, { data: { email, role } });
  expect(invited.status(), await invited.text()).toBe(201);
  const { token } = (await invited.json()) as { token: string };
  const member = await apiAs(memberToken);
  const accepted = await member.post(`invitations/${token}/accept`);
  expect(accepted.status(), await accepted.text()).toBe(200);
  await member.dispose();
}

/** Numbered full-page screenshots under test-artifacts/screenshots, `prefix-NN-name.png`. */
export function screenshots(prefix: string) {
  let index = 0;
  mkdirSync(SHOTS, { recursive: true });
  return async (page: Page, name: string) => {
    index += 1;
    const file = join(SHOTS, `${prefix}-${String(index).padStart(2, '0')}-${name}.png`);
    // a full-page shot of a scrolled page draws the sticky header mid-page
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: file, fullPage: true });
  };
}

/** A screenshot of the page as it was when a flow failed. */
export async function shotOnFailure(page: Page | undefined, testInfo: TestInfo): Promise<void> {
  if (!page || testInfo.status === testInfo.expectedStatus) return;
  const file = testInfo.outputPath('failure.png');
  await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
  await testInfo.attach('failure', { path: file, contentType: 'image/png' }).catch(() => undefined);
}

export const projectIdFrom = (url: string) => Number(new URL(url).searchParams.get('project'));

// ---------- the labeling page ----------

export const currentItemOf = (page: Page): Locator => page.getByTestId('current-item');

/** The item on the stage: its id and its text (empty for images). */
export function currentItem(page: Page): Promise<{ id: string; text: string }> {
  return currentItemOf(page).evaluate((stage) => ({
    id: stage.getAttribute('data-item-id') ?? '',
    text: stage.querySelector('.item-text')?.textContent?.trim() ?? '',
  }));
}

/** Waits until the stage shows another item than `id`. */
export async function nextItemShown(page: Page, id: string): Promise<void> {
  await expect(currentItemOf(page)).not.toHaveAttribute('data-item-id', id, { timeout: 10_000 });
}

interface Probe {
  __timings: number[];
  __pressedAt: number | null;
}

/** Installs a probe timing each keydown until the current item changes and is painted. */
export async function installTimingProbe(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as Probe;
    w.__timings = [];
    w.__pressedAt = null;
    window.addEventListener(
      'keydown',
      () => {
        w.__pressedAt = performance.now();
      },
      true,
    );
    let lastId = document.querySelector('[data-testid="current-item"]')?.getAttribute('data-item-id');
    const observer = new MutationObserver(() => {
      const id = document.querySelector('[data-testid="current-item"]')?.getAttribute('data-item-id');
      if (id && id !== lastId) {
        lastId = id;
        const pressed = w.__pressedAt;
        if (pressed != null) {
          w.__pressedAt = null;
          // the next frame is when the new item is on screen
          requestAnimationFrame(() => w.__timings.push(performance.now() - pressed));
        }
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-item-id'] });
  });
}

/** Median, p95 and max of the probe's keypress → next item timings. */
export async function keypressTimings(page: Page) {
  const timings = await page.evaluate(() => (window as unknown as Probe).__timings);
  const sorted = [...timings].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { n: sorted.length, median: q(0.5), p95: q(0.95), max: sorted[sorted.length - 1] };
}
