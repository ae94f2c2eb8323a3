// Two annotators disagree on an item; a reviewer opens the Conflicts view, resolves it with the
// keyboard, and the dashboard's conflict count falls while the model retrains on the decision.
// The team and the labels are set up through the API; the review is done in the browser.
import { type APIRequestContext, expect, type Page, test } from '@playwright/test';
import { apiAs, ConsoleWatch, currentItemOf, joinProject, log, openPage, registerUser, screenshots, shotOnFailure } from './support';

test.describe.configure({ mode: 'serial' });

const stamp = Date.now();
const password = 'a long password';
const texts = ['the soup was cold and bland', 'a warm and lovely evening', 'the staff were rude to us', 'what a wonderful little place'];
const shot = screenshots('conflicts');
const consoleWatch = new ConsoleWatch();
let owner: APIRequestContext;
let annotator: APIRequestContext;
let reviewerToken: string;
let annotatorToken: string;
let page: Page;
let projectId: number;
let disputed: number;

const status = async () => (await owner.get(`projects/${projectId}/status`)).json();

async function label(api: APIRequestContext, itemId: number, labels: string[]): Promise<void> {
  const answer = await api.post(`projects/${projectId}/items/${itemId}/annotations`, { data: { labels } });
  expect(answer.status(), await answer.text()).toBe(201);
}

test.beforeAll(async ({ browser }) => {
  owner = await apiAs(await registerUser(`owner.${stamp}@example.com`, password, 'Olive Owner'));
  annotatorToken = await registerUser(`bob.${stamp}@example.com`, password, 'Bob Annotator');
  annotator = await apiAs(annotatorToken);
  reviewerToken = await registerUser(`rita.${stamp}@example.com`, password, 'Rita Reviewer');
  page = await openPage(browser, consoleWatch, { token: reviewerToken });
});

// biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument to be destructured
test.afterEach(async ({}, testInfo) => shotOnFailure(page, testInfo));

test.afterAll(async () => {
  await page?.context().close();
  await owner?.dispose();
  await annotator?.dispose();
  consoleWatch.expectNoCspViolations();
});

test('two annotators disagree on an item', async () => {
  test.setTimeout(300_000);
  const made = await owner.post('projects', { data: { name: 'Team sentiment', task: 'text_classification', labels: ['negative', 'positive'], annotations_per_item: 2 } });
  expect(made.status(), await made.text()).toBe(201);
  projectId = (await made.json()).id;
  await joinProject(owner, projectId, `bob.${stamp}@example.com`, 'annotator', annotatorToken);
  await joinProject(owner, projectId, `rita.${stamp}@example.com`, 'reviewer', reviewerToken);
  const csv = `id,text\n${texts.map((text, i) => `t${i},${text}`).join('\n')}\n`;
  const uploaded = await owner.post(`projects/${projectId}/items`, { multipart: { files: { name: 'team.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) } } });
  expect(uploaded.status(), await uploaded.text()).toBe(202);
  await expect.poll(async () => (await status()).items_ready, { message: 'the items to be embedded', timeout: 240_000 }).toBe(texts.length);
  const items = (await (await owner.get(`projects/${projectId}/items`)).json()).data as { id: number; name: string }[];
  const id = (name: string) => items.find((item) => item.name === name)?.id ?? 0;
  disputed = id('t0');
  await label(owner, disputed, ['negative']);
  await label(annotator, disputed, ['positive']); // a tie: left out of training
  await label(owner, id('t1'), ['positive']);
  await label(annotator, id('t1'), ['positive']);
  await label(owner, id('t2'), ['negative']);
  await expect.poll(async () => (await status()).labels_in_model, { message: 'a model on the 2 undisputed items', timeout: 120_000 }).toBe(2);
  const now = await status();
  expect([now.labeled, now.conflicts, now.conflicts_tied, now.conflicts_resolved]).toEqual([3, 1, 1, 0]);
  log('project', projectId, 'disputed item', disputed);
});

test('the reviewer sees the conflict on the dashboard', async () => {
  await page.goto(`/dashboard/?project=${projectId}`);
  await expect(page.getByTestId('conflict-count')).toHaveText('1');
  await expect(page.getByTestId('conflict-detail')).toContainText('1 tied, out of training');
  await expect(page.getByTestId('conflicts-tab-count')).toHaveText('1');
  await shot(page, 'dashboard-one-conflict');
});

test('the reviewer resolves it with the keyboard', async () => {
  await page.getByRole('link', { name: /^Conflicts/ }).click();
  await expect(page).toHaveURL(/\/conflicts\/\?project=\d+/);
  await expect(currentItemOf(page)).toHaveAttribute('data-item-id', String(disputed));
  await expect(currentItemOf(page)).toContainText(texts[0]);
  await expect(page.getByRole('button', { name: /Olive Owner\s*negative/ })).toBeVisible();
  await expect(page.getByRole('button', { name: /Bob Annotator\s*positive/ })).toBeVisible();
  await expect(page.getByTestId('standing')).toContainText('Tie');
  await expect(page.getByLabel('Model prediction')).toContainText('Predicts');
  await expect(page.getByLabel('Keyboard shortcuts')).toContainText("Take one annotator's answer");
  await shot(page, 'conflict');
  await page.keyboard.press('Shift+Digit2'); // Bob's answer
  await expect(page.getByRole('button', { name: /^2\s*positive/ })).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('1'); // changed my mind: negative
  await expect(page.getByRole('button', { name: /^1\s*negative/ })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByRole('button', { name: /^2\s*positive/ })).toHaveAttribute('aria-pressed', 'false');
  await page.keyboard.press('Enter');
  await expect(page.getByText('No open conflicts')).toBeVisible();
  await expect(page.getByText(/You resolved 1 in this session/)).toBeVisible();
  await shot(page, 'all-resolved');
});

test('the dashboard counts it resolved and the model trains on the decision', async () => {
  test.setTimeout(180_000);
  await expect.poll(async () => (await status()).conflicts_resolved, { timeout: 15_000 }).toBe(1);
  await page.goto(`/dashboard/?project=${projectId}`);
  await expect(page.getByTestId('conflict-count')).toHaveText('0');
  await expect(page.getByTestId('conflict-detail')).toHaveText('1 resolved');
  await expect(page.getByTestId('conflicts-tab-count')).toHaveCount(0);
  await expect.poll(async () => (await status()).labels_in_model, { message: 'the model to retrain with the resolved item', timeout: 120_000 }).toBe(3);
  const item = await (await owner.get(`projects/${projectId}/items/${disputed}`)).json();
  expect([item.labels, item.decided_by, item.resolution.user_name]).toEqual([['negative'], 'review', 'Rita Reviewer']);
  expect(item.annotations.map((a: { labels: string[] }) => a.labels)).toEqual([['negative'], ['positive']]);
  const exported = await owner.get(`projects/${projectId}/export?content=items&format=jsonl&annotators=true`);
  const rows = (await exported.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const row = rows.find((r) => r.item_id === disputed);
  expect([row.labels, row.decided_by, row.agreement, row.annotators]).toEqual([['negative'], 'review', 0.5, 2]);
  await shot(page, 'dashboard-resolved');
});

test('annotators do not get the view', async ({ browser }) => {
  const token = await registerUser(`carl.${stamp}@example.com`, password, 'Carl Annotator');
  await joinProject(owner, projectId, `carl.${stamp}@example.com`, 'annotator', token);
  const carl = await openPage(browser, consoleWatch, { token });
  await carl.goto(`/dashboard/?project=${projectId}`);
  await expect(carl.getByTestId('conflict-count')).toHaveText('0');
  await expect(carl.getByRole('link', { name: /^Conflicts/ })).toHaveCount(0);
  await carl.goto(`/conflicts/?project=${projectId}`);
  await expect(carl.getByText('Only owners and reviewers resolve conflicts')).toBeVisible();
  await carl.context().close();
});
