import type { APIRequestContext } from '@playwright/test';
import { expect, test } from './fixtures/server';
import { API_KEY, open } from './fixtures/self_service';
import { isoDateInDays, PortalPage, SignInPage } from './fixtures/portal';

/** What the vendor's CRM sends when Hooli buys 25 Business seats for a year. */
const ORDER = {
  customer: { external_id: 'crm-4711', name: 'Hooli', admin: { email: 'gavin@hooli.example', name: 'Gavin Belson' } },
  sku: 'ACME-BUSINESS',
  quantity: 25,
  term_months: 12,
  external_id: 'sub-4711',
};

/** The order, placed through the provisioning API with the demo key. */
function placeOrder(request: APIRequestContext, idempotencyKey: string) {
  return request.post('/api/v1/orders', {
    headers: { Authorization: `Bearer ${API_KEY}`, 'Idempotency-Key': idempotencyKey },
    data: ORDER,
  });
}

/** A check by the vendor's software, with the demo key, for Hooli's API calls. */
function check(request: APIRequestContext) {
  return request.post('/api/v1/check', {
    headers: { Authorization: `Bearer ${API_KEY}` },
    data: { customer: 'hooli', feature: 'api.calls' },
  });
}

// Every test has a fresh demo database (fixtures/server.ts), with no Hooli in it: fixed names are safe.
test('a CRM order creates a customer and its entitlement; its admin joins, sees it, and checks are allowed', async ({ page, browser, baseURL, request }) => {
  // Before the order nobody knows Hooli.
  const before = await check(request);
  expect(before.status()).toBe(404);
  expect((await before.json()).code).toBe('unknown_customer');

  const placed = await placeOrder(request, 'order-sub-4711');
  expect(placed.status()).toBe(201);
  expect(placed.headers()['idempotent-replayed']).toBeUndefined();
  const order = await placed.json();
  expect(order.customer).toMatchObject({ slug: 'hooli', name: 'Hooli', external_id: 'crm-4711' });
  expect(order.entitlement).toMatchObject({
    plan: 'business',
    status: 'active',
    seats: { cap: 25, override: 25, used: 0 },
    external_id: 'sub-4711',
  });
  expect(order.entitlement.renews_at).toMatch(new RegExp(`^${isoDateInDays(365)}T`));
  expect(order.invitation.email).toBe('gavin@hooli.example');
  expect(order.events).toEqual(['customer.created', 'user.invited', 'entitlement.granted', 'order.placed']);
  const invitation = new URL(order.invitation.url);
  expect(invitation.origin).toBe(baseURL);
  expect(invitation.pathname).toMatch(/^\/invite\/[^/]+$/);

  // The CRM retries with the same key: the first answer again, and no second customer.
  const retried = await placeOrder(request, 'order-sub-4711');
  expect(retried.status()).toBe(201);
  expect(retried.headers()['idempotent-replayed']).toBe('true');
  const replay = await retried.json();
  expect(replay).toEqual(order);
  expect(replay.invitation.url).toBe(order.invitation.url);

  // Gavin opens the link and sets a password.
  await open(page, invitation.pathname);
  await expect(page.getByRole('heading', { name: 'Join Hooli on Tessera' })).toBeVisible();
  await page.getByLabel('Password', { exact: true }).fill('hooli hooli hooli');
  await page.getByLabel('Repeat password').fill('hooli hooli hooli');
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(page).toHaveURL(/\/entitlements$/);

  const portal = new PortalPage(page);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Hooli');
  const card = portal.entitlement('Acme Analytics');
  await expect(card).toContainText('Business plan');
  await expect(card).toContainText('Active');
  await expect(portal.fact(card, 'Seats')).toHaveText('0 of 25 used');
  await expect(portal.fact(card, 'Renews').locator('time')).toHaveAttribute('datetime', isoDateInDays(365));

  // The new password signs in, in a browser of Gavin's own.
  const context = await browser.newContext({ baseURL });
  const again = await context.newPage();
  const signIn = new SignInPage(again);
  await signIn.goto();
  await signIn.signIn('gavin@hooli.example', 'hooli hooli hooli');
  await expect(again).toHaveURL(/\/entitlements$/);
  const againPortal = new PortalPage(again);
  const againCard = againPortal.entitlement('Acme Analytics');
  await expect(againCard).toContainText('Business plan');
  await expect(againPortal.fact(againCard, 'Seats')).toHaveText('0 of 25 used');
  await context.close();

  // And the vendor's software may now let Hooli call the API.
  const after = await check(request);
  expect(after.status()).toBe(200);
  expect(await after.json()).toMatchObject({ allowed: true, code: 'ok', plan: 'business' });
});
