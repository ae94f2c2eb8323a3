// Joining a project by invitation, in two browsers: the owner invites an email on the members
// page and copies the link; the invitee opens it signed out, registers with the invited email
// (prefilled, fixed), accepts and lands on the project's dashboard; the owner then sees them
// among the members and no pending invitation left. The link works once.
import { expect, type Page, test } from '@playwright/test';
import { apiAs, ConsoleWatch, openPage, registerUser, screenshots, shotOnFailure } from './support';

test.describe.configure({ mode: 'serial' });

const shot = screenshots('invite');
const consoleWatch = new ConsoleWatch();
const invitee = `dana.${Date.now()}@example.com`;
let owner: Page;
let guest: Page;
let projectId: number;
let link: string;

test.beforeAll(async ({ browser }) => {
  const token = await registerUser(`olga.${Date.now()}@example.com`, 'a long password', 'Olga Owner');
  const api = await apiAs(token);
  const made = await api.post('projects', { data: { name: 'Invited reviews', task: 'text_classification', labels: ['negative', 'positive'] } });
  expect(made.status(), await made.text()).toBe(201);
  projectId = (await made.json()).id;
  await api.dispose();
  owner = await openPage(browser, consoleWatch, { token });
  guest = await openPage(browser, consoleWatch);
});

// biome-ignore lint/correctness/noEmptyPattern: Playwright requires the fixtures argument to be destructured
test.afterEach(async ({}, testInfo) => {
  await shotOnFailure(owner, testInfo);
  await shotOnFailure(guest, testInfo);
});

test.afterAll(async () => {
  await owner?.context().close();
  await guest?.context().close();
  consoleWatch.expectNoCspViolations();
});

test('the owner invites an email and gets a link', async () => {
  await owner.goto(`/members/?project=${projectId}`);
  await owner.getByLabel('Email').fill(invitee);
  await owner.getByLabel('Role').selectOption('annotator');
  await owner.getByRole('button', { name: 'Send invitation' }).click();
  const field = owner.getByLabel('Invitation link');
  await expect(field).toHaveValue(/\/invite\/\?token=/);
  link = await field.inputValue();
  await expect(owner.getByTestId('invitations-table').getByText(invitee)).toBeVisible();
  await shot(owner, 'members-invited');
});

test('the invitee registers through the link and accepts', async () => {
  await guest.goto(link);
  await expect(guest.getByTestId('invitation-summary')).toContainText(`Olga Owner invites ${invitee} to Invited reviews as annotator`);
  await guest.getByRole('tab', { name: 'Register' }).click();
  const email = guest.getByLabel('Email');
  await expect(email).toHaveValue(invitee);
  await expect(email).toHaveAttribute('readonly', '');
  await guest.getByLabel('Name').fill('Dana');
  await guest.getByLabel('Password').fill('another long password');
  await shot(guest, 'invite-register');
  await guest.getByRole('button', { name: 'Create account' }).click();
  await guest.getByRole('button', { name: 'Accept invitation' }).click();
  await guest.waitForURL(new RegExp(`/dashboard/\\?project=${projectId}`));
  await expect(guest.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await shot(guest, 'invite-landed');
});

test('the owner sees the new member; the link is spent', async () => {
  await owner.reload();
  await expect(owner.getByTestId('members-table').getByText(invitee)).toBeVisible();
  await expect(owner.getByTestId('invitations-table')).toHaveCount(0);
  await guest.goto(link);
  await expect(guest.getByText('This invitation cannot be used')).toBeVisible();
  await expect(guest.getByText(/used already/)).toBeVisible();
});
