// Image projects, for a user signed up through the API: a multi-label project with COCO images
// labeled by number keys, then a single-label project fed a folder of CIFAR images (a text file
// in it is refused in words), labeled by number keys and Enter, a .zip into a new dataset that is
// renamed and deleted, a fine-tune cancelled at once; last the projects list and signing out.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type APIRequestContext, expect, type Page, test } from '@playwright/test';
import {
  apiAs,
  ConsoleWatch,
  currentItem,
  currentItemOf,
  DATASETS,
  installTimingProbe,
  keypressTimings,
  log,
  nextItemShown,
  openPage,
  projectIdFrom,
  readCsv,
  registerUser,
  screenshots,
  shotOnFailure,
  zipStore,
} from './support';

test.describe.configure({ mode: 'serial' });

const cocoImages = readCsv(join(DATASETS, 'multilabel_coco128/labels.csv'))
  .slice(1, 17)
  .map((r) => ({ path: join(DATASETS, 'multilabel_coco128', r[0]), labels: r[1].split('|') }));
const COCO_LABELS = ['person', 'car', 'dog', 'cup', 'bowl', 'chair'];
const CIFAR = join(DATASETS, 'images_cifar10_subset/train');

const work = mkdtempSync(join(tmpdir(), 'filament-e2e-'));
const shot = screenshots('images');
const consoleWatch = new ConsoleWatch();
let page: Page;
let api: APIRequestContext;
let multiLabelId: number;
let singleLabelId: number;

const status = async (projectId: number) => (await api.get(`projects/${projectId}/status`)).json();
const uploadedRows = () => page.locator('.file-row[data-state="uploaded"]').count();

test.beforeAll(async ({ browser }) => {
  const token = await registerUser(`cleo.${Date.now()}@example.com`, 'a long password', 'Cleo Example');
  api = await apiAs(token);
  page = await openPage(browser, consoleWatch, { token });
});

// biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument to be destructured
test.afterEach(async ({}, testInfo) => shotOnFailure(page, testInfo));

test.afterAll(async () => {
  await page?.context().close();
  await api?.dispose();
  rmSync(work, { recursive: true, force: true });
  consoleWatch.expectNoCspViolations();
});

test('image multi-label project: create and upload images', async () => {
  test.setTimeout(420_000);
  await page.goto('/new/');
  await page.getByLabel('Project name').fill('COCO objects');
  await page.getByText('Image, multi-label', { exact: true }).click();
  const input = page.getByLabel('New label');
  for (const label of COCO_LABELS) {
    await input.fill(label);
    await input.press('Enter');
  }
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page).toHaveURL(/\/upload\/\?project=\d+/);
  multiLabelId = projectIdFrom(page.url());
  await page.getByTestId('file-input').setInputFiles(cocoImages.map((image) => image.path));
  await expect.poll(uploadedRows, { message: '16 uploaded image rows', timeout: 60_000 }).toBeGreaterThanOrEqual(cocoImages.length);
  await shot(page, 'upload-images');
  await expect.poll(async () => (await status(multiLabelId)).items_ready, { message: 'all images to be ready', timeout: 300_000 }).toBeGreaterThanOrEqual(cocoImages.length);
});

test('image multi-label labeling by keyboard', async () => {
  test.setTimeout(360_000);
  const image = currentItemOf(page).locator('img');
  await page.goto(`/label/?project=${multiLabelId}`);
  await expect(image).toBeVisible({ timeout: 60_000 });
  await shot(page, 'label-multilabel');
  await installTimingProbe(page);
  const byName = new Map(cocoImages.map((entry) => [entry.path.split('/').pop() ?? '', entry.labels]));
  for (let i = 0; i < 8; i++) {
    const item = await currentItem(page);
    const name = (await page.locator('.stage-caption').textContent()) ?? '';
    const truthLabels = [...byName.entries()].find(([file]) => name.includes(file))?.[1] ?? [];
    // clear pre-checked suggestions, then toggle the true labels by number key
    for (const [index, label] of COCO_LABELS.entries()) {
      const box = page.getByRole('checkbox', { name: new RegExp(label) });
      const checked = (await box.getAttribute('aria-checked')) === 'true';
      if (checked !== truthLabels.includes(label)) await page.keyboard.press(String(index + 1));
    }
    if (i === 0) await shot(page, 'label-multilabel-toggled');
    if (truthLabels.some((label) => COCO_LABELS.includes(label))) await page.keyboard.press('Enter');
    else await page.keyboard.press('0');
    await nextItemShown(page, item.id);
    await expect(image).toBeVisible();
  }
  const s = await keypressTimings(page);
  console.log(`\nKEYPRESS → NEXT ITEM SHOWN (images, ${s.n} presses): median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms\n`);
  await page.goto(`/dashboard/?project=${multiLabelId}`);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.getByText('Active version'), 'a multi-label model')
    .toBeVisible({ timeout: 180_000 })
    .catch(() => log('no image model within the time; the dashboard says so'));
  await shot(page, 'dashboard-multilabel');
  await page.goto(`/review/?project=${multiLabelId}`);
  await expect(page.getByTestId('suggestion').or(page.locator('.empty')).first()).toBeVisible({ timeout: 30_000 });
  await shot(page, 'suggestions-images');
});

test('image single-label project: folder upload, number keys, Enter', async () => {
  test.setTimeout(480_000);
  // a folder of CIFAR images, as a person would pick with "Choose a folder"
  const folder = join(work, 'cifar');
  const classes = ['airplane', 'cat', 'ship'];
  for (const name of classes) {
    mkdirSync(join(folder, name), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const file = `${String(i).padStart(4, '0')}.jpg`;
      writeFileSync(join(folder, name, file), readFileSync(join(CIFAR, name, file)));
    }
  }
  writeFileSync(join(folder, 'notes.txt'), 'not an image');
  await page.goto('/new/');
  await page.getByLabel('Project name').fill('CIFAR things');
  await page.getByText('Image, single label', { exact: true }).click();
  const input = page.getByLabel('New label');
  await input.fill(classes.join(', '));
  await input.press('Enter');
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page).toHaveURL(/\/upload\/\?project=\d+/);
  singleLabelId = projectIdFrom(page.url());
  await page.getByTestId('folder-input').setInputFiles(folder);
  await expect.poll(uploadedRows, { message: '12 uploaded image rows', timeout: 60_000 }).toBeGreaterThanOrEqual(12);
  await expect(page.locator('.file-row[data-state="rejected"] .file-error'), 'the text file is refused in words').toHaveText(['Not an image or a .zip of images.']);
  await expect.poll(async () => (await status(singleLabelId)).items_ready, { message: 'the images to be ready', timeout: 300_000 }).toBeGreaterThanOrEqual(12);
  // the page's own status poll (1.5 s while items process, 10 s otherwise) shows them all ready
  await expect(page.getByTestId('items-ready')).toContainText('12 / 12');
  await shot(page, 'upload-folder');
  await page.goto(`/label/?project=${singleLabelId}`);
  await expect(currentItemOf(page).locator('img')).toBeVisible({ timeout: 60_000 });
  let confirmed = 0;
  for (let i = 0; i < 9; i++) {
    const item = await currentItem(page);
    const name = (await page.locator('.stage-caption').textContent()) ?? '';
    const truthLabel = classes.find((c) => name.includes(`${c}/`)) ?? classes[0];
    const predictedButton = page.locator('.label-btn-predicted .label-btn-text');
    const predicted = (await predictedButton.count()) ? await predictedButton.textContent() : null;
    if (predicted === truthLabel) {
      await page.keyboard.press('Enter');
      confirmed += 1;
    } else await page.keyboard.press(String(classes.indexOf(truthLabel) + 1));
    await nextItemShown(page, item.id);
    if (i === 6) await shot(page, 'label-image-single');
    await page.waitForTimeout(400); // a person's pace, not a wait for the page: lets a head train so predictions appear
  }
  log(`image single-label: ${confirmed} of 9 confirmed with Enter`);
  const labeled = (await (await api.get(`projects/${singleLabelId}/items?status=labeled`)).json()) as { count: number };
  expect(labeled.count, `labeled ${labeled.count} images`).toBeGreaterThanOrEqual(8);
});

test('image project: a .zip into a new dataset, rename it, delete it', async () => {
  test.setTimeout(480_000);
  await page.goto(`/upload/?project=${singleLabelId}`);
  const zipFiles = ['dog', 'horse'].flatMap((name) => ['0000.jpg', '0001.jpg', '0002.jpg'].map((file) => ({ name: `${name}/${file}`, data: readFileSync(join(CIFAR, name, file)) })));
  const zipPath = join(work, 'more-cifar.zip');
  writeFileSync(zipPath, zipStore(zipFiles));
  const before = (await status(singleLabelId)).items_total;
  await page.getByLabel('Into dataset').selectOption({ label: 'New dataset…' });
  await page.getByLabel('New dataset name').fill('zipped cifar');
  await page.getByTestId('file-input').setInputFiles(zipPath);
  await expect(page.locator('.file-row[data-state="uploaded"]')).toBeVisible({ timeout: 60_000 });
  await expect
    .poll(
      async () => {
        const now = await status(singleLabelId);
        return now.items_total >= before + zipFiles.length && now.items_ready >= now.items_total;
      },
      { message: 'the zipped images to be ready', timeout: 300_000 },
    )
    .toBe(true);
  const row = page.locator('[data-testid="dataset-row"][data-name="zipped cifar"]');
  await expect(row.locator('td.num'), 'the new dataset with 6 items')
    .toHaveText(String(zipFiles.length))
    .catch(async (error: unknown) => {
      log('datasets from the API:', JSON.stringify(await (await api.get(`projects/${singleLabelId}/datasets`)).json()));
      throw error;
    });
  await shot(page, 'upload-zip-datasets');
  // rename inline
  await row.getByRole('button', { name: 'Rename zipped cifar' }).click();
  await page.getByLabel('New name for zipped cifar').fill('cifar extra');
  await page.getByRole('button', { name: 'Save' }).click();
  const renamed = page.locator('[data-testid="dataset-row"][data-name="cifar extra"]');
  await expect(renamed).toBeVisible({ timeout: 15_000 });
  // delete, after a dialog that says what goes
  await renamed.getByRole('button', { name: 'Delete cifar extra' }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog).toContainText(/deletes 6 items and their labels/);
  await shot(page, 'dataset-delete-confirm');
  await dialog.getByRole('button', { name: 'Delete 6 items' }).click();
  await expect(renamed).toHaveCount(0, { timeout: 15_000 });
  expect((await status(singleLabelId)).items_total, "the dataset's items are gone").toBe(before);
  // a fine-tune started and cancelled at once leaves the model as it was
  await page.goto(`/dashboard/?project=${singleLabelId}`);
  await page.getByTestId('finetune-panel').getByRole('button', { name: 'Fine-tune now' }).click();
  await page.getByTestId('finetune-job').getByRole('button', { name: 'Cancel' }).click();
  const outcome = page.getByTestId('finetune-outcome');
  await expect(outcome).toBeVisible({ timeout: 15_000 });
  await expect(outcome).toHaveAttribute('data-status', 'cancelled');
  await shot(page, 'dashboard-image-finetune-cancelled');
  // not a wait for the page: whether the job is still cancelled a few seconds later
  await page.waitForTimeout(3000);
  const jobs = ((await (await api.get(`projects/${singleLabelId}/jobs`)).json()) as { data: { type: string; status: string; message: string }[] }).data.filter((j) => j.type === 'finetune');
  if (jobs[0]?.status !== 'cancelled') log(`WARNING: the cancelled fine-tuning job is ${jobs[0]?.status} again (${jobs[0]?.message})`);
});

test('projects list and sign out', async () => {
  await page.goto('/');
  await expect(page.locator('.project-card').first()).toBeVisible();
  await shot(page, 'projects');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login\//);
  await page.goto(`/dashboard/?project=${singleLabelId}`);
  await expect(page).toHaveURL(/\/login\//);
});
