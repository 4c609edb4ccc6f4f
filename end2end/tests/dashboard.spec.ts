import { expect, test } from './fixtures/server';
import { SignInPage } from './fixtures/portal';

test('staff land on the dashboard, follow a count to its customers and search the list', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('staff@tessera.example');
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Dashboard');
  // Both charts are drawn, with their names for a screen reader.
  await expect(page.getByRole('img', { name: 'Live entitlements each day, last 90 days' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'Usage metered each day, last 90 days' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'The whole audit log' })).toBeVisible();

  // Globex's trial ends in 10 days: the count leads to the customers it counts.
  const trials = page.getByRole('link', { name: /Trials ending within 14 days/ });
  await expect(trials).not.toContainText(/^0/);
  await trials.click();
  await expect(page).toHaveURL(/\/customers\?show=trial-ending$/);
  await expect(page.getByLabel('Show')).toHaveValue('trial-ending');
  await expect(page.getByRole('row', { name: /Globex/ })).toBeVisible();
  await expect(page.getByRole('row', { name: /Initech/ })).toHaveCount(0);

  // A search by a user's email finds their organisation.
  await page.getByLabel('Show').selectOption('');
  await page.getByLabel("Name, slug or a user's email").fill('ada@initech.example');
  await page.getByRole('button', { name: 'Find' }).click();
  await expect(page).toHaveURL(/search=ada%40initech\.example/);
  await expect(page.getByRole('row')).toHaveCount(2);
  await expect(page.getByRole('row', { name: /Initech/ })).toContainText('Acme Analytics · Team');
});

test('a customer admin is not shown the vendor dashboard', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('ada@initech.example');
  await expect(page).toHaveURL(/\/entitlements$/);
  await page.goto('/dashboard');
  await expect(page.getByRole('alert')).toHaveText('You do not have access to this.');
  await expect(page.getByRole('link', { name: /Trials ending/ })).toHaveCount(0);
  await expect(page.getByRole('navigation').getByRole('link', { name: 'Dashboard' })).toHaveCount(0);
});
