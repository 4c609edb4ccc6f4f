import { expect, test } from './fixtures/server';
import { API_KEY, open, signInAs } from './fixtures/self_service';

test('deactivating an instance in the portal frees its slot for the next activation', async ({ page, request }) => {
  const activate = (fingerprint: string) =>
    request.post('/api/v1/instances', { headers: { Authorization: `Bearer ${API_KEY}` }, data: { customer: 'initech', fingerprint } });
  await signInAs(page, 'ada@initech.example');
  await open(page, '/instances');
  await expect(page.getByText('Acme Analytics: 2 of 3 instances active')).toBeVisible();
  await expect(page.getByRole('row', { name: /ci-runner-01/ })).toContainText('Live');
  await expect(page.getByRole('row', { name: /analytics-worker/ })).toBeVisible();

  expect((await activate('e2e-host')).status()).toBe(201);
  const full = await activate('e2e-host-2');
  expect(full.status()).toBe(409);
  expect((await full.json()).code).toBe('instance_limit');

  await page.reload();
  await expect(page.getByText('Acme Analytics: 3 of 3 instances active')).toBeVisible();
  await page.getByRole('button', { name: 'Deactivate ci-runner-01' }).click();
  await expect(page.getByRole('status')).toHaveText('Deactivated — the slot is free.');
  await expect(page.getByRole('row', { name: /ci-runner-01/ })).toHaveCount(0);
  expect((await activate('e2e-host-2')).status()).toBe(201);
});
