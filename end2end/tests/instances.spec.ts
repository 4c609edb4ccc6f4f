import { expect, test } from './fixtures/server';
import { API_KEY, InstancesPage, signInAs } from './fixtures/self_service';

test('deactivating an instance in the portal frees its slot for the next activation', async ({ page, request }) => {
  const activate = (fingerprint: string) =>
    request.post('/api/v1/instances', { headers: { Authorization: `Bearer ${API_KEY}` }, data: { customer: 'initech', fingerprint } });
  await signInAs(page, 'ada@initech.example');
  const instances = new InstancesPage(page);
  await instances.goto();
  await expect(instances.count('Acme Analytics', 2, 3)).toBeVisible();
  await expect(instances.row('ci-runner-01')).toContainText('Live');
  await expect(instances.row('analytics-worker')).toContainText('Live');
  await expect(page.getByText(/activated by the software itself through the API/)).toBeVisible();

  expect((await activate('e2e-host')).status()).toBe(201);
  const full = await activate('e2e-host-2');
  expect(full.status()).toBe(409);
  expect((await full.json()).code).toBe('instance_limit');

  await instances.reload();
  await expect(instances.count('Acme Analytics', 3, 3)).toBeVisible();
  await expect(instances.row('e2e-host')).toContainText('Live');
  await instances.deactivate('ci-runner-01');
  await expect(page.getByRole('status')).toHaveText('Deactivated — the slot is free.');
  await expect(instances.row('ci-runner-01')).toHaveCount(0);
  await expect(instances.count('Acme Analytics', 2, 3)).toBeVisible();
  expect((await activate('e2e-host-2')).status()).toBe(201);

  // A search lists the matching instances only; the count is still of every live one.
  await instances.search('WORKER');
  await expect(instances.row('analytics-worker')).toContainText('Live');
  await expect(instances.row('e2e-host')).toHaveCount(0);
  await expect(instances.count('Acme Analytics', 3, 3)).toBeVisible();
  await instances.search('no-such-host');
  await expect(page.getByText('No instances match.')).toBeVisible();
});
