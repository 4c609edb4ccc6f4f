import { execFileSync, spawnSync } from 'node:child_process';
import type { Browser, Page } from '@playwright/test';
import { expect, tesseraBinary, test } from './fixtures/server';
import { API_KEY, open, signInAs } from './fixtures/self_service';

/** A second person in their own browser context, signed in. */
async function person(browser: Browser, page: Page, email: string) {
  const context = await browser.newContext({ baseURL: new URL(page.url()).origin });
  const other = await context.newPage();
  await signInAs(other, email);
  return { context, page: other };
}

async function fileRequest(page: Page, path: string, reason: string) {
  await open(page, path);
  await page.getByLabel('Why do you need this?').fill(reason);
  await page.getByRole('button', { name: 'Send request' }).click();
  await expect(page).toHaveURL(/\/requests\?filed=/);
}

async function decide(page: Page, comment: string) {
  await page.getByLabel('Comment for the customer').fill(comment);
  await page.getByRole('button', { name: 'Record the decision' }).click();
}

test('a jump of two tiers needs two people on the staff, and nobody approves twice', async ({ page, browser }) => {
  await signInAs(page, 'ada@initech.example');
  await fileRequest(page, '/requests/new?kind=plan&plan=enterprise', 'We are growing fast.');
  await expect(page.getByRole('listitem', { name: 'Change plan to Enterprise' })).toContainText('Needs 2 approvals from vendor staff; 0 given so far.');

  const sam = await person(browser, page, 'staff@tessera.example');
  await open(sam.page, '/approvals');
  await expect(sam.page.getByRole('row', { name: /Change plan to Enterprise/ })).toContainText('0 of 2 approvals');
  await sam.page.getByRole('link', { name: 'Change plan to Enterprise' }).click();
  await expect(sam.page.getByText('A catalog rule asks for 2 approvals from different staff.')).toBeVisible();
  await decide(sam.page, 'Looks right to me.');
  await expect(sam.page.getByRole('status')).toHaveText('Your approval is recorded (1 of 2): someone else on the staff must approve it too.');
  await decide(sam.page, 'Me again.');
  await expect(sam.page.getByRole('alert').filter({ hasText: 'You approved this request already' })).toBeVisible();
  const requestUrl = sam.page.url();

  // Ada still sees Team: one approval is not enough.
  await open(page, '/entitlements');
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('Team plan');

  const vera = await person(browser, page, 'admin@tessera.example');
  await open(vera.page, new URL(requestUrl).pathname);
  await expect(vera.page.getByText(/Approved by Sam Staff on/)).toBeVisible();
  await decide(vera.page, 'Agreed, welcome to Enterprise.');
  await expect(vera.page.getByRole('status')).toHaveText('Approved: the change applies now.');

  // Sam's page was loaded before Vera decided: a third approval is refused cleanly.
  await decide(sam.page, 'Once more.');
  await expect(sam.page.getByRole('alert').filter({ hasText: 'This request is approved already.' })).toBeVisible();

  await open(page, '/entitlements');
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('Enterprise plan');
  await sam.context.close();
  await vera.context.close();
});

test('a few more seats on Team are approved by the catalog rule at once', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  await fileRequest(page, '/requests/new?kind=seats&seats=3', 'Three interns.');
  const req = page.getByRole('listitem', { name: '3 more seats' });
  await expect(req).toContainText('Approved');
  await expect(req).toContainText('Approved automatically by a catalog rule');
  await open(page, '/entitlements');
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('2 of 13 used');
});

test('a change asked for at renewal is approved for the renewal date and waits for it', async ({ page, browser, request }) => {
  await signInAs(page, 'ada@initech.example');
  await fileRequest(page, '/requests/new?kind=plan&plan=business&at_renewal=on', 'From next term.');
  const sam = await person(browser, page, 'staff@tessera.example');
  await open(sam.page, '/approvals');
  await sam.page.getByRole('link', { name: 'Change plan to Business, at renewal' }).click();
  await decide(sam.page, 'From the renewal, then.');
  await expect(sam.page.getByRole('status')).toContainText('Approved: the change applies at renewal, on');

  await open(page, '/requests');
  const req = page.getByRole('listitem', { name: 'Change plan to Business, at renewal' });
  await expect(req).toContainText('Approved');
  await expect(req).toContainText('Applies at renewal, on');
  const check = await request.post('/api/v1/check', {
    headers: { Authorization: `Bearer ${API_KEY}` },
    data: { customer: 'initech', feature: 'sso', user: 'ada@initech.example' },
  });
  expect((await check.json()).code).toBe('feature_not_in_plan');
  await sam.context.close();
});

test('cutting seats holds back the seats assigned last, plainly on both sides', async ({ page, browser, request }) => {
  const bobCheck = async () =>
    (
      await (
        await request.post('/api/v1/check', {
          headers: { Authorization: `Bearer ${API_KEY}` },
          data: { customer: 'initech', feature: 'reports.export', user: 'bob@initech.example' },
        })
      ).json()
    ).code;
  expect(await bobCheck()).toBe('ok');

  await signInAs(page, 'staff@tessera.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Customers' }).click();
  await page.getByRole('link', { name: 'Initech' }).click();
  await expect(page).toHaveURL(/\/customers\/initech$/);
  const terms = page.getByRole('region', { name: 'Change the terms' });
  await terms.getByLabel("Seats (empty: the plan's)").fill('1');
  await terms.getByLabel('Reason').fill('Contract cut to one seat.');
  await terms.getByRole('button', { name: 'Change the terms' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Terms changed' })).toBeVisible();
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('1 seat is assigned beyond the 1 the plan allows');
  expect(await bobCheck()).toBe('no_seat');

  const ada = await person(browser, page, 'ada@initech.example');
  await ada.page.getByRole('link', { name: 'Manage seats' }).click();
  await expect(ada.page.getByText('1 seat is held back.')).toBeVisible();
  await expect(ada.page.getByRole('row', { name: /Bob Porter/ })).toContainText('Held back');
  await ada.page.getByRole('button', { name: 'Free the seat of Bob Porter' }).click();
  await expect(ada.page.getByText('1 seat is held back.')).toHaveCount(0);
  await expect(ada.page.locator('.seat-count')).toHaveText('1 of 1 seats used');
  await ada.context.close();
});

test('staff create a customer and grant it a plan; its admin signs in and sees it', async ({ page, browser }) => {
  await signInAs(page, 'staff@tessera.example');
  await open(page, '/customers');
  await page.getByLabel('Name', { exact: true }).fill('Hooli');
  await page.getByLabel('Address in the portal (e.g. initech)').fill('hooli');
  await page.getByLabel("Admin's name").fill('Gavin Belson');
  await page.getByLabel("Admin's email").fill('gavin@hooli.example');
  await page.getByLabel('Reason').fill('Signed the order form.');
  await page.getByRole('button', { name: 'Create the customer' }).click();
  const link = page.locator('.invite-link');
  await expect(link).toContainText('/invite/');
  const invitation = (await link.textContent()) ?? '';
  await expect(page.getByRole('link', { name: 'Hooli' })).toBeVisible();

  await page.getByRole('link', { name: 'Open the customer' }).click();
  await expect(page).toHaveURL(/\/customers\/hooli$/);
  await expect(page.getByText('No entitlements yet.')).toBeVisible();
  await page.getByLabel('Plan', { exact: true }).selectOption('business');
  await page.getByLabel('API boost').check();
  await page.getByLabel("Seats (empty: the plan's)").fill('20');
  await page.getByLabel('Reason').fill('Year one.');
  await page.getByRole('button', { name: 'Grant' }).click();
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('Business plan');

  const context = await browser.newContext();
  const gavin = await context.newPage();
  await gavin.goto(invitation);
  await gavin.getByLabel('Password', { exact: true }).fill('hooli hooli hooli');
  await gavin.getByLabel('Repeat password').fill('hooli hooli hooli');
  await gavin.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(gavin).toHaveURL(/\/entitlements$/);
  const card = gavin.getByRole('article', { name: 'Acme Analytics entitlement' });
  await expect(card).toContainText('Business plan');
  await expect(card).toContainText('0 of 20 used');
  await expect(card).toContainText('Add-ons: API boost');
  await context.close();
});

test('staff view a customer’s portal read-only, and the view is in the audit log', async ({ page }) => {
  await signInAs(page, 'staff@tessera.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Customers' }).click();
  await page.getByRole('link', { name: 'Initech' }).click();
  await expect(page).toHaveURL(/\/customers\/initech$/);
  await page.getByRole('link', { name: 'View as the customer' }).click();
  await page.getByRole('button', { name: "Open the customer's portal" }).click();
  await expect(page).toHaveURL(/\/customers\/initech\/portal$/);
  await expect(page.getByRole('status').filter({ hasText: "You are viewing Initech's portal as they see it. Read-only" })).toBeVisible();
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('2 of 10 used');
  await expect(page.getByRole('link', { name: 'Manage seats' })).toHaveCount(0);
  await open(page, '/audit?customer=initech&kind=customer.viewed_as');
  await expect(page.getByRole('row', { name: /customer\.viewed_as/ })).toContainText('staff@tessera.example');
});

test('a vendor admin saves a new plan version, moves customers to it, and manages API keys', async ({ page, request }) => {
  const check = async (key: string) =>
    request.post('/api/v1/check', {
      headers: { Authorization: `Bearer ${key}` },
      data: { customer: 'initech', feature: 'sso', user: 'ada@initech.example' },
    });
  expect((await (await check(API_KEY)).json()).code).toBe('feature_not_in_plan');

  await signInAs(page, 'admin@tessera.example');
  await page.getByRole('link', { name: 'Catalog' }).click();
  await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible();
  const team = page.getByRole('row', { name: /Team team/ });
  await team.getByLabel('Edit Team').click();
  await team.getByLabel('Seats').fill('12');
  await team.getByLabel('Single sign-on').check();
  await team.getByLabel('Reason').fill('SSO for every team.');
  await team.getByRole('button', { name: 'Save as version 2' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved as a new version.' })).toBeVisible();
  const v2 = page.getByRole('row', { name: /Team team/ });
  await expect(v2).toContainText('v2');
  await expect(v2).toContainText('on older versions');
  // Saving a version changes no one's entitlement.
  expect((await (await check(API_KEY)).json()).code).toBe('feature_not_in_plan');

  await v2.getByLabel('Reason for moving Team customers').fill('Everyone on the new Team.');
  await v2.getByRole('button', { name: 'Move every Team customer to version 2' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Moved to the newest version.' })).toBeVisible();
  expect((await (await check(API_KEY)).json()).code).toBe('ok');

  await page.getByLabel('New API key name').fill('Production');
  await page.getByRole('button', { name: 'Create a key' }).click();
  const secret = page.locator('.issued-key code');
  await expect(secret).toContainText('tsk_');
  const key = (await secret.textContent()) ?? '';
  expect((await check(key)).status()).toBe(200);
  await page.getByRole('button', { name: 'Revoke the key Production' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Key revoked.' })).toBeVisible();
  expect((await check(key)).status()).toBe(401);
});

test('audit verify finds a tampered row', async ({ page, database }) => {
  await signInAs(page, 'ada@initech.example');
  const verify = () =>
    spawnSync(tesseraBinary, ['audit', 'verify'], { env: { ...process.env, DATABASE_URL: `sqlite://${database}` }, encoding: 'utf8' });
  const intact = verify();
  expect(intact.status).toBe(0);
  expect(intact.stdout).toContain('audit chain intact');

  // Someone who owns the database drops the log's guard and rewrites who did something.
  execFileSync('python3', [
    '-c',
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('DROP TRIGGER audit_events_no_update'); c.execute(\"UPDATE audit_events SET actor = 'mallory@example.com' WHERE seq = 2\"); c.commit()",
    database,
  ]);
  const broken = verify();
  expect(broken.status).toBe(1);
  expect(broken.stdout).toContain('audit chain BROKEN at event #2');
});

/** Someone in a browser without JavaScript, signed in: every form posts as a plain form. */
async function plainPerson(browser: Browser, baseURL: string, email: string) {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  await page.goto('/signin');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('tessera-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.getByRole('link', { name: 'Customers', exact: true }).click();
  await expect(page).toHaveURL(/\/customers$/);
  return { context, page };
}

test('staff moving a customer two tiers up waits for a second member of staff, who approves it (plain forms)', async ({ browser, baseURL }) => {
  const sam = await plainPerson(browser, baseURL, 'staff@tessera.example');
  await sam.page.goto('/customers/initech');
  const terms = sam.page.getByRole('region', { name: 'Change the terms' });
  await terms.getByLabel('Plan', { exact: true }).selectOption('enterprise');
  await terms.getByLabel('Reason').fill('Enterprise deal signed.');
  await terms.getByRole('button', { name: 'Change the terms' }).click();
  await expect(sam.page).toHaveURL(/\/customers\/initech(\?.*)?$/);
  const card = sam.page.getByRole('article', { name: 'Acme Analytics entitlement' });
  await expect(card).toContainText('Team plan');
  const waiting = sam.page.getByRole('region', { name: 'Waiting for a second approval' });
  await expect(waiting).toContainText('Acme Analytics: Enterprise plan');
  await expect(waiting).toContainText('Proposed by staff@tessera.example');
  // The proposer's own approval is refused, and nothing changes.
  await waiting.getByRole('button', { name: 'Approve the change' }).click();
  await expect(sam.page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('Team plan');

  const vera = await plainPerson(browser, baseURL, 'admin@tessera.example');
  await vera.page.goto('/customers/initech');
  await vera.page.getByRole('region', { name: 'Waiting for a second approval' }).getByRole('button', { name: 'Approve the change' }).click();
  await expect(vera.page).toHaveURL(/\/customers\/initech(\?.*)?$/);
  await expect(vera.page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('Enterprise plan');
  await expect(vera.page.getByRole('region', { name: 'Waiting for a second approval' })).toHaveCount(0);
  await sam.context.close();
  await vera.context.close();
});
