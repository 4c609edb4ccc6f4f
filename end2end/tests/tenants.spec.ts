import { expect, test } from './fixtures/server';
import { isoDateInDays, PortalPage, SignInPage } from './fixtures/portal';

test('a Globex admin sees the trial end date and nothing of Initech', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('grace@globex.example');
  await expect(page).toHaveURL(/\/entitlements$/);

  const portal = new PortalPage(page);
  const card = portal.entitlement('Acme Analytics');
  await expect(card).toContainText('Business plan');
  await expect(card).toContainText('Trial');
  const trialEnds = portal.fact(card, 'Trial ends');
  await expect(trialEnds.locator('time')).toHaveAttribute('datetime', isoDateInDays(10));
  await expect(trialEnds).toContainText('(in 10 days)');
  await expect(card.locator('.status-note')).toContainText('Trial ends on');

  await expect(page.getByRole('heading', { level: 1 })).toContainText('Globex');
  await expect(page.locator('body')).not.toContainText('Initech');
  await expect(page.locator('body')).not.toContainText('Team plan');

  // Asking for another tenant's page directly is refused as well.
  await page.goto('/customers/initech');
  await expect(page.getByRole('alert')).toHaveText('You do not have access to this.');
  await expect(page.locator('body')).not.toContainText('Team plan');
});

test('a suspended customer sees the suspension plainly', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('al@umbrella.example');
  const card = new PortalPage(page).entitlement('Acme Analytics');
  await expect(card).toContainText('Enterprise plan');
  await expect(card.locator('.status-note')).toHaveText(
    'Suspended: Payment overdue. Features are unavailable until it is resumed.',
  );
});

test('a member sees their organisation read-only', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('cy@initech.example');
  await expect(new PortalPage(page).entitlement('Acme Analytics')).toContainText('Team plan');
  await expect(page.getByText('Your admin can change seats and plans.')).toBeVisible();
});

test('vendor staff land on the dashboard, go to the customer list and open a customer', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('staff@tessera.example');
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.getByRole('link', { name: 'Customers', exact: true }).click();
  await expect(page).toHaveURL(/\/customers$/);
  // The header, Demo Co (the sales demo), Globex, Initech and Umbrella.
  const rows = page.getByRole('row');
  await expect(rows).toHaveCount(5);
  await expect(page.getByRole('row', { name: /Initech/ })).toContainText('Acme Analytics · Team · active');
  await page.getByRole('link', { name: 'Globex' }).click();
  await expect(page).toHaveURL(/\/customers\/globex$/);
  await expect(new PortalPage(page).entitlement('Acme Analytics')).toContainText('Business plan');
});
