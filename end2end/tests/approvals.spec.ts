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
  const staffContext = await browser.newContext({ baseURL: new URL(page.url()).origin });
  const staffPage = await staffContext.newPage();
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
  await staffContext.close();
});

test('a rejected request shows its comment to the customer and changes nothing', async ({ page, browser }) => {
  await signInAs(page, 'ada@initech.example');
  await open(page, '/requests/new?kind=seats&seats=8');
  await page.getByLabel('Why do you need this?').fill('Eight new hires.');
  await page.getByRole('button', { name: 'Send request' }).click();
  await expect(page.getByRole('listitem', { name: '8 more seats' })).toContainText('Pending');

  const staffContext = await browser.newContext({ baseURL: new URL(page.url()).origin });
  const staff = await staffContext.newPage();
  await signInAs(staff, 'staff@tessera.example');
  await open(staff, '/approvals');
  await staff.getByRole('link', { name: '8 more seats' }).click();
  await staff.getByLabel('Reject').check();
  await staff.getByRole('button', { name: 'Record the decision' }).click();
  await expect(staff.getByText('Say why, in up to 2,000 characters')).toBeVisible();
  await staff.getByLabel('Comment for the customer').fill('Not before the renewal, sorry.');
  await staff.getByRole('button', { name: 'Record the decision' }).click();
  await expect(staff.getByRole('status')).toHaveText('Rejected: the customer sees your comment.');
  // Decided: the form is gone, so it cannot be decided twice from here.
  await expect(staff.getByRole('button', { name: 'Record the decision' })).toHaveCount(0);

  await open(page, '/requests');
  const req = page.getByRole('listitem', { name: '8 more seats' });
  await expect(req).toContainText('Rejected');
  await expect(req).toContainText('Not before the renewal, sorry.');
  await open(page, '/entitlements');
  await expect(page.getByRole('article', { name: 'Acme Analytics entitlement' })).toContainText('2 of 10 used');
  await staffContext.close();
});

test('approving against an entitlement that changed since asks to confirm the new state', async ({ page, browser }) => {
  await signInAs(page, 'ada@initech.example');
  for (const [path, reason] of [
    ['/requests/new?kind=seats&seats=8', 'Eight new hires.'],
    ['/requests/new?kind=addon&addon=api-boost', 'More calls.'],
  ]) {
    await open(page, path);
    await page.getByLabel('Why do you need this?').fill(reason);
    await page.getByRole('button', { name: 'Send request' }).click();
    await expect(page).toHaveURL(/\/requests\?filed=/);
  }
  const staffContext = await browser.newContext({ baseURL: new URL(page.url()).origin });
  const staff = await staffContext.newPage();
  await signInAs(staff, 'staff@tessera.example');
  await open(staff, '/approvals');
  await staff.getByRole('link', { name: '8 more seats' }).click();
  await staff.getByLabel('Comment for the customer').fill('Granted.');
  await staff.getByRole('button', { name: 'Record the decision' }).click();
  await expect(staff.getByRole('status')).toHaveText('Approved: the change applies now.');

  await open(staff, '/approvals');
  await staff.getByRole('link', { name: 'Add API boost' }).click();
  await expect(staff.getByText(/The entitlement changed since this request was made/)).toBeVisible();
  await staff.getByLabel('Comment for the customer').fill('Granted too.');
  await staff.getByRole('button', { name: 'Record the decision' }).click();
  await expect(staff.getByRole('alert').filter({ hasText: 'Check the change against it and confirm' })).toBeVisible();
  await staff.getByLabel('I checked the change against the entitlement as it is now').check();
  await staff.getByRole('button', { name: 'Record the decision' }).click();
  await expect(staff.getByRole('status')).toHaveText('Approved: the change applies now.');
  await staffContext.close();
});
