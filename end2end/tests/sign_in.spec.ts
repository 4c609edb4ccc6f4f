import { expect, test } from './fixtures/server';
import { isoDateInDays, PortalPage, SignInPage, waitForHydration } from './fixtures/portal';

test('a customer admin signs in and sees the Team entitlement with seats and renewal date', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('ada@initech.example');

  await expect(page).toHaveURL(/\/entitlements$/);
  const portal = new PortalPage(page);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Initech');
  const card = portal.entitlement('Acme Analytics');
  await expect(card).toContainText('Team plan');
  await expect(card).toContainText('Active');
  await expect(portal.fact(card, 'Seats')).toHaveText('2 of 10 used');
  await expect(portal.fact(card, 'Instances')).toHaveText('up to 3');
  const renews = portal.fact(card, 'Renews');
  await expect(renews.locator('time')).toHaveAttribute('datetime', isoDateInDays(45));
  await expect(renews).toContainText('(in 45 days)');
  await expect(card.getByRole('listitem')).toHaveText(['Dashboards', 'Report export', 'API calls: 10,000 a month']);
});

test('a wrong password shows one clear error and stays on sign-in', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('ada@initech.example', 'not-the-password');
  await expect(signIn.alert).toHaveText('The email or password is not correct.');
  await expect(page).toHaveURL(/\/signin/);

  // An unknown email gets exactly the same words: nothing tells which emails exist.
  await signIn.signIn('nobody@initech.example', 'not-the-password');
  await expect(signIn.alert).toHaveText('The email or password is not correct.');
});

test('a malformed email is flagged next to the Email field', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('ada-at-initech', 'whatever');
  await expect(page.locator('#email-error')).toHaveText('Enter an email address like name@example.com.');
  await expect(signIn.email).toHaveAttribute('aria-invalid', 'true');
});

test('a signed-out visitor is sent to sign-in and back to the page afterwards', async ({ page }) => {
  await page.goto('/entitlements');
  await expect(page).toHaveURL(/\/signin\?next=\/entitlements$/);
  await waitForHydration(page);
  const signIn = new SignInPage(page);
  await signIn.signIn('bob@initech.example');
  await expect(page).toHaveURL(/\/entitlements$/);
  await expect(new PortalPage(page).entitlement('Acme Analytics')).toBeVisible();
});

test('a reload keeps the session, and after sign-out the portal leads back to sign-in', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('ada@initech.example');
  const portal = new PortalPage(page);
  await expect(portal.entitlement('Acme Analytics')).toBeVisible();

  await page.reload();
  await expect(portal.entitlement('Acme Analytics')).toBeVisible();
  await expect(page.getByText('Ada Lovelace')).toBeVisible();

  await waitForHydration(page);
  await portal.signOut.click();
  await expect(page).toHaveURL(/\/signin$/);

  await page.goBack();
  await expect(page).toHaveURL(/\/signin\?next=\/entitlements$/);
  await page.goto('/entitlements');
  await expect(page).toHaveURL(/\/signin\?next=\/entitlements$/);
  await expect(portal.entitlement('Acme Analytics')).toHaveCount(0);
});

test('sign-in works before the page is interactive (plain form post)', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/signin?next=%2Fentitlements');
  await page.getByLabel('Email').fill('ada@initech.example');
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The email or password is not correct.');

  await page.getByLabel('Email').fill('ada@initech.example');
  await page.getByLabel('Password').fill('tessera-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/entitlements$/);
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('2 of 10 used');
  await context.close();
});
