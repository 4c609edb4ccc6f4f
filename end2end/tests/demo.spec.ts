import { expect, test } from './fixtures/server';
import { API_KEY, signInAs } from './fixtures/self_service';
import { waitForHydration } from './fixtures/portal';

test('sales switch the demo customer between tiers and reset it', async ({ page, request }) => {
  const sso = async (customer: string, user: string) =>
    (
      await (
        await request.post('/api/v1/check', {
          headers: { Authorization: `Bearer ${API_KEY}` },
          data: { customer, feature: 'sso', user },
        })
      ).json()
    ).code;
  await signInAs(page, 'sales@tessera.example');
  await page.getByRole('link', { name: 'Demo', exact: true }).click();
  await waitForHydration(page);
  const panel = page.getByRole('table').filter({ hasText: 'Reason code' });
  const row = (name: string) => panel.getByRole('row', { name: new RegExp(`^${name}`) });
  await expect(page.getByRole('button', { name: 'Switch to Team' })).toHaveAttribute('aria-pressed', 'true');
  await expect(row('Single sign-on')).toContainText('feature_not_in_plan');

  await page.getByRole('button', { name: 'Switch to Business' }).click();
  await expect(page.getByRole('button', { name: 'Switch to Business' })).toHaveAttribute('aria-pressed', 'true');
  await expect(row('Single sign-on')).toContainText('Yes');
  await expect(row('API calls')).toContainText('100,000');
  expect(await sso('demo', 'pat@demo.example')).toBe('ok');
  expect(await sso('initech', 'ada@initech.example')).toBe('feature_not_in_plan');

  await page.getByRole('button', { name: 'Switch to Free' }).click();
  await expect(row('Report export')).toContainText('feature_not_in_plan');

  await page.getByRole('button', { name: 'Reset the demo' }).click();
  await expect(page.getByRole('button', { name: 'Switch to Team' })).toHaveAttribute('aria-pressed', 'true');
  await expect(row('Single sign-on')).toContainText('No');
  expect(await sso('demo', 'pat@demo.example')).toBe('feature_not_in_plan');
});

test('the plans compare side by side', async ({ page }) => {
  await signInAs(page, 'sales@tessera.example');
  await page.getByRole('link', { name: 'Plans', exact: true }).click();
  const table = page.getByRole('table', { name: 'Acme Analytics' });
  await expect(table.getByRole('columnheader')).toHaveText(['Limit or feature', 'Free', 'Team', 'Business', 'Enterprise']);
  await expect(table.getByRole('row', { name: /Single sign-on/ })).toContainText('——✓✓');
});
