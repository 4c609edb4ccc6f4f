import { expect, test } from './fixtures/server';
import { API_KEY, signInAs, UsagePage } from './fixtures/self_service';

test('the API calls chart shows 30 or 90 days with the same numbers as its table', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  const usage = new UsagePage(page);
  await usage.goto();
  await expect(page.getByRole('link', { name: '30 days' })).toHaveAttribute('aria-current', 'page');
  await expect(usage.chart('API calls', 30)).toBeVisible();
  await expect(usage.days(await usage.numbers('API calls'))).toHaveCount(30);

  // What is used and what remains add up to the quota.
  const { used, quota } = await usage.used('API calls');
  expect(quota).toBe(10_000);
  expect(used + (await usage.remaining('API calls'))).toBe(quota);
  // The table's last running total is the figure above the chart.
  const table = await usage.numbers('API calls');
  await expect(usage.days(table).last().getByRole('cell').last()).toHaveText(used.toLocaleString('en-US'));

  await usage.showDays(90);
  await expect(page.getByRole('link', { name: '30 days' })).not.toHaveAttribute('aria-current', 'page');
  await expect(usage.chart('API calls', 90)).toBeVisible();
  await expect(usage.days(await usage.numbers('API calls'))).toHaveCount(90);
  await expect(usage.chart('Seats used', 90)).toBeVisible();
  await expect(usage.days(await usage.numbers('Seats used'))).toHaveCount(90);
  await expect(usage.chart('Active instances', 90)).toBeVisible();
  await expect(usage.days(await usage.numbers('Active instances'))).toHaveCount(90);
});

test('usage reported through the API shows on the next page load', async ({ page, request }) => {
  await signInAs(page, 'ada@initech.example');
  const usage = new UsagePage(page);
  await usage.goto();
  const before = await usage.used('API calls');
  const r = await request.post('/api/v1/usage', {
    headers: { Authorization: `Bearer ${API_KEY}` },
    data: { events: [{ event_id: 'e2e-1', customer: 'initech', feature: 'api.calls', quantity: 500 }] },
  });
  expect(r.status()).toBe(200);
  await page.reload();
  const after = await usage.used('API calls');
  expect(after.used).toBe(before.used + 500);
  expect(await usage.remaining('API calls')).toBe(Math.max(0, after.quota - after.used));
});
