import { expect, test } from './fixtures/server';
import { open, signInAs } from './fixtures/self_service';

test('an admin previews an upgrade, sends it with a reason and withdraws it', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  await open(page, '/requests/new');
  await page.getByLabel('Change plan').check();
  await page.getByLabel('Plan', { exact: true }).selectOption({ label: 'Business' });
  await page.getByRole('button', { name: 'Preview the change' }).click();

  await expect(page.getByRole('heading', { name: 'Upgrade from Team to Business' })).toBeVisible();
  const preview = page.locator('section.preview');
  await expect(preview.getByRole('listitem')).toHaveText(['Single sign-on', 'Audit log']);
  await expect(preview.getByRole('row', { name: /Seats/ })).toContainText(/10\s*50/);
  await waitAndFile(page, 'We need single sign-on for the whole team.');

  await expect(page).toHaveURL(/\/requests\?filed=\d+/);
  await expect(page.getByText('Request sent. Vendor staff will review it.')).toBeVisible();
  const request = page.getByRole('listitem', { name: 'Change plan to Business' });
  await expect(request).toContainText('Pending');
  await expect(request).toContainText('We need single sign-on for the whole team.');

  await request.getByRole('button', { name: 'Withdraw request: Change plan to Business' }).click();
  await expect(request).toContainText('Withdrawn');
  await expect(request.getByRole('button', { name: /Withdraw/ })).toHaveCount(0);
});

test('asking for the plan one already has is refused before anything is sent', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  await open(page, '/requests/new?kind=plan&plan=team');
  await expect(page.getByRole('alert').filter({ hasText: 'You are on Team already.' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Send request' })).toHaveCount(0);
});

test('a request without a reason says so and is not filed', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  await open(page, '/requests/new?kind=seats&seats=5');
  await expect(page.getByRole('heading', { name: '5 more seats' })).toBeVisible();
  await page.getByRole('button', { name: 'Send request' }).click();
  await expect(page.getByText('Say why you need this change.')).toBeVisible();
  await open(page, '/requests');
  await expect(page.getByText('No requests yet.')).toBeVisible();
});

async function waitAndFile(page: import('@playwright/test').Page, reason: string) {
  await page.getByLabel('Why do you need this?').fill(reason);
  await page.getByRole('button', { name: 'Send request' }).click();
}
