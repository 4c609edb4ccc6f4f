import { expect, test } from './fixtures/server';
import { API_KEY, open, signInAs } from './fixtures/self_service';

test('staff approve an upgrade and the customer and the API see Business at once', async ({ page, browser, request }) => {
  const check = async () =>
    (
      await (
        await request.post('/api/v1/check', {
          headers: { Authorization: `Bearer ${API_KEY}` },
          data: { customer: 'initech', feature: 'sso', user: 'ada@initech.example' },
        })
      ).json()
    ).code;
  expect(await check()).toBe('feature_not_in_plan');

  // Ada asks for Business.
  await signInAs(page, 'ada@initech.example');
  await open(page, '/requests/new?kind=plan&plan=business');
  await page.getByLabel('Why do you need this?').fill('We need single sign-on.');
  await page.getByRole('button', { name: 'Send request' }).click();
  await expect(page.getByRole('listitem', { name: 'Change plan to Business' })).toContainText('Pending');

  // Sam from the vendor's staff approves it with a comment.
  const staffPage = await (await browser.newContext({ baseURL: new URL(page.url()).origin })).newPage();
  await signInAs(staffPage, 'staff@tessera.example');
  await staffPage.getByRole('link', { name: 'Approvals' }).click();
  await staffPage.getByRole('link', { name: 'Change plan to Business' }).click();
  await expect(staffPage.getByRole('heading', { name: 'Change plan to Business' })).toBeVisible();
  await expect(staffPage.getByText('Single sign-on').first()).toBeVisible();
  await staffPage.getByLabel('Comment for the customer').fill('Welcome to Business!');
  await staffPage.getByRole('button', { name: 'Record the decision' }).click();
  await expect(staffPage.getByRole('status')).toHaveText('Approved: the change applies now.');

  // The API answers with the new plan at the very next check.
  expect(await check()).toBe('ok');

  // Ada sees it on her next page load.
  await open(page, '/requests');
  const req = page.getByRole('listitem', { name: 'Change plan to Business' });
  await expect(req).toContainText('Approved');
  await expect(req).toContainText('Comment from Sam Staff: Welcome to Business!');
  await open(page, '/entitlements');
  const card = page.getByRole('article', { name: 'Acme Analytics entitlement' });
  await expect(card).toContainText('Business plan');
  await expect(card.getByRole('listitem')).toContainText(['Single sign-on', 'Audit log']);
});
