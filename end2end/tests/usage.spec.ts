import { expect, test } from './fixtures/server';
import { API_KEY, open, showNumbers, signInAs } from './fixtures/self_service';

const number = (s: string | null) => Number((s ?? '').replace(/[^0-9]/g, ''));

test('the API calls chart shows 30 or 90 days with the same numbers as its table', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  await open(page, '/usage');
  const calls = page.getByRole('article', { name: 'API calls' });
  await expect(calls.getByRole('img', { name: /API calls/ })).toBeVisible();
  await showNumbers(calls);
  const table = calls.getByRole('table', { name: 'API calls per day' });
  await expect(table.getByRole('row')).toHaveCount(31);

  // What is used and what remains add up to the quota.
  const used = await calls.locator('.used').textContent();
  const remaining = await calls.locator('.remaining').textContent();
  expect(used).toMatch(/Used this month: [0-9,]+ of 10,000 calls/);
  const usedNumber = number((used ?? '').split(' of ')[0]);
  expect(usedNumber + number(remaining)).toBe(10_000);

  await page.getByRole('link', { name: '90 days' }).click();
  await expect(page).toHaveURL(/days=90/);
  await showNumbers(calls);
  await expect(calls.getByRole('table', { name: 'API calls per day' }).getByRole('row')).toHaveCount(91);
  await expect(page.getByRole('article', { name: 'Seats used' }).getByRole('img')).toBeVisible();
  await expect(page.getByRole('article', { name: 'Active instances' }).getByRole('img')).toBeVisible();
});

test('usage reported through the API shows on the next page load', async ({ page, request }) => {
  await signInAs(page, 'ada@initech.example');
  await open(page, '/usage');
  const calls = page.getByRole('article', { name: 'API calls' });
  const before = number(((await calls.locator('.used').textContent()) ?? '').split(' of ')[0]);
  const r = await request.post('/api/v1/usage', {
    headers: { Authorization: `Bearer ${API_KEY}` },
    data: { events: [{ event_id: 'e2e-1', customer: 'initech', feature: 'api.calls', quantity: 500 }] },
  });
  expect(r.status()).toBe(200);
  await page.reload();
  const after = number(((await calls.locator('.used').textContent()) ?? '').split(' of ')[0]);
  expect(after).toBe(before + 500);
});
