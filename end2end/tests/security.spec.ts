import { createServer, type Server } from 'node:http';
import { expect, test } from './fixtures/server';
import { SeatsPage, signInAs } from './fixtures/self_service';
import { SignInPage, waitForHydration } from './fixtures/portal';

/** A page on another origin (another port of the same host: the same site, as far as the
 * browser's cookies go) whose form posts at once to `target` with `fields`. */
async function attackerPage(target: string, fields: Record<string, string>): Promise<{ url: string; server: Server }> {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
    .join('');
  const html = `<!DOCTYPE html><html><body><form id="f" method="post" action="${target}">${inputs}</form>
    <script>document.getElementById('f').submit();</script></body></html>`;
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, server };
}

test('a form on another site that posts to Tessera with the admin signed in is refused and changes nothing', async ({ page, baseURL }) => {
  await signInAs(page, 'ada@initech.example');
  const seats = new SeatsPage(page);
  await seats.goto();
  await expect(seats.count()).toHaveText('2 of 10 seats used');
  const entitlement = new URL(page.url()).pathname.split('/')[2];

  const attack = await attackerPage(`${baseURL}/api/invite_user`, {
    entitlement,
    email: 'mallory@initech.example',
    name: 'Mallory',
    admin: 'on',
    seat: 'on',
  });
  try {
    const refused = page.waitForResponse((r) => r.url().endsWith('/api/invite_user'));
    await page.goto(attack.url);
    expect((await refused).status()).toBe(403);
    await expect(page.locator('body')).toContainText('Refused: this request came from another site.');
  } finally {
    attack.server.close();
  }

  await seats.goto();
  await expect(seats.count()).toHaveText('2 of 10 seats used');
  await expect(page.getByRole('row', { name: /Mallory/ })).toHaveCount(0);
});

test('wrong passwords slow sign-in down and the page says how long to wait', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  const held = /^Too many failed sign-ins: wait \d+ seconds? before trying again\.$/;
  // Three are free; after that each must wait longer than the last (1 s, 2 s, 4 s…), so
  // guesses typed as fast as a person can are soon told to wait.
  let attempts = 0;
  let status = 0;
  while (attempts < 8 && status !== 429) {
    attempts += 1;
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/sign_in'));
    await signIn.signIn('ada@initech.example', `guess-${attempts}`);
    status = (await answer).status();
    if (status !== 429) {
      expect(status).toBe(401);
      await expect(signIn.alert).toHaveText('The email or password is not correct.');
    }
  }
  expect(status).toBe(429);
  await expect(signIn.alert).toHaveText(held);
  expect(attempts).toBeGreaterThan(3);
  await expect(page).toHaveURL(/\/signin/);
});

test('a user sees where they are signed in and signs the other browser out', async ({ page, browser, baseURL }) => {
  const other = await browser.newContext({ baseURL });
  const phone = await other.newPage();
  await signInAs(phone, 'ada@initech.example');
  await signInAs(page, 'ada@initech.example');

  await page.getByRole('link', { name: /Ada/ }).first().click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  const rows = page.getByRole('table').getByRole('row');
  await expect(rows).toHaveCount(3);
  await expect(page.getByRole('row', { name: /This browser/ })).toHaveCount(1);
  await expect(page.getByRole('row', { name: /This browser/ })).toContainText('127.0.0.1');

  await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Signed out of 1 other browser.' })).toBeVisible();
  await expect(rows).toHaveCount(2);

  await phone.reload();
  await expect(phone).toHaveURL(/\/signin\?next=/);
  await other.close();

  await page.getByRole('button', { name: 'Sign out everywhere', exact: true }).click();
  await expect(page).toHaveURL(/\/signin$/);
});

test('staff open a customer portal with a button; the address alone shows nothing of it', async ({ page }) => {
  await signInAs(page, 'staff@tessera.example');
  await page.goto('/customers/initech/portal');
  await expect(page.getByRole('heading', { name: "Initech's portal" })).toBeVisible();
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toHaveCount(0);
  await page.getByRole('button', { name: "Open the customer's portal" }).click();
  await expect(page.getByRole('status').filter({ hasText: "You are viewing Initech's portal as they see it." })).toBeVisible();
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('2 of 10 used');
});

test('a user changes their password on their account page; a common one is refused', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  await page.goto('/account');
  await waitForHydration(page);
  const form = page.getByRole('region', { name: 'Change your password' });
  await form.getByLabel('Current password').fill('tessera-demo');
  await form.getByLabel('New password', { exact: true }).fill('password123');
  await form.getByLabel('Repeat the new password').fill('password123');
  await form.getByRole('button', { name: 'Change the password' }).click();
  await expect(form).toContainText('That is one of the most common passwords');

  await form.getByLabel('New password', { exact: true }).fill('a long new passphrase');
  await form.getByLabel('Repeat the new password').fill('a long new passphrase');
  await form.getByRole('button', { name: 'Change the password' }).click();
  await expect(form.getByRole('status')).toHaveText('Password changed.');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/signin$/);
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('ada@initech.example', 'a long new passphrase');
  await expect(page).toHaveURL(/\/entitlements$/);
});

test('the bundle arrives precompressed under content-named files cached for a year; pages are never kept', async ({ page }) => {
  const wasm = page.waitForResponse((r) => r.url().endsWith('.wasm'));
  const response = await page.goto('/signin');
  expect(response?.headers()['cache-control']).toBe('no-store');
  const bundle = await wasm;
  expect(bundle.url()).toMatch(/\/pkg\/tessera\.[0-9a-f]{16}\.wasm$/);
  expect(['br', 'gzip']).toContain(bundle.headers()['content-encoding']);
  expect(bundle.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  await waitForHydration(page);
});
