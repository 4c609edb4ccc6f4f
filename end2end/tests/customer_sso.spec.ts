import type { Page } from '@playwright/test';
import { CUSTOMER_CLIENT_SECRET, expect, test } from './fixtures/server';
import { PortalPage, SignInPage, waitForHydration } from './fixtures/portal';
import { open, signInAs } from './fixtures/self_service';

test.use({
  customerProvider: {
    slug: 'initech',
    accounts: [
      { sub: 'bob', email: 'bob@initech.example', email_verified: true, name: 'Bob at Initech ID', password: 'bob-at-the-idp' },
      { sub: 'zed', email: 'zed@initech.example', email_verified: true, name: 'Zed Newcomer', password: 'zed-at-the-idp' },
    ],
  },
});

/** The provider's own login form (oidc-provider's development pages). */
async function signInAtProvider(page: Page, login: string, password: string) {
  await expect(page.getByRole('heading', { name: 'Sign-in' })).toBeVisible();
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill(password);
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** Types `email` in the sign-in page's single sign-on form and continues. */
async function continueWithSso(page: Page, email: string) {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await page.getByLabel('Work email').fill(email);
  await page.getByRole('button', { name: 'Continue with single sign-on' }).click();
}

async function signOut(page: Page) {
  await new PortalPage(page).signOut.click();
  await expect(page).toHaveURL(/\/signin$/);
}

test("Initech connects its own provider, the vendor confirms its domain, and Initech's people sign in through it", async ({
  page,
  baseURL,
  customerIssuer,
}) => {
  // Initech's admin connects the provider and claims the domain.
  await signInAs(page, 'ada@initech.example');
  await page.getByRole('navigation').getByRole('link', { name: 'Single sign-on' }).click();
  await expect(page).toHaveURL(/\/sso$/);
  await waitForHydration(page);
  await expect(page.getByTestId('redirect-uri')).toHaveText(`${baseURL}/auth/sso/callback/initech`);
  await page.getByLabel('Issuer URL').fill(customerIssuer);
  await page.getByLabel('Client id').fill('tessera');
  await page.getByLabel('Client secret').fill(CUSTOMER_CLIENT_SECRET);
  await page.getByLabel('Name on the sign-in page').fill('Initech ID');
  await page.getByRole('button', { name: 'Save provider' }).click();
  await expect(page.getByRole('status')).toHaveText('Saved.');
  await page.getByLabel('Add a domain').fill('initech.example');
  await page.getByRole('button', { name: 'Add domain' }).click();
  const claim = page.locator('tr[data-domain="initech.example"]');
  await expect(claim).toContainText("Awaiting the vendor's confirmation");
  // A domain cannot route anyone before the vendor confirms it.
  await expect(claim.getByRole('button', { name: 'Confirm initech.example' })).toHaveCount(0);
  await signOut(page);

  // Until then, the sign-in page offers no single sign-on, and Initech's people are not
  // sent to the provider.
  await new SignInPage(page).goto();
  await expect(page.getByLabel('Work email')).toHaveCount(0);
  const early = await page.request.post('/auth/sso/start', { form: { email: 'bob@initech.example', next: '' }, maxRedirects: 0 });
  expect(early.status()).toBe(303);
  expect(early.headers()['location']).toBe('/signin?sso=nodomain');

  // Vendor staff confirm it from the customer's page.
  await signInAs(page, 'staff@tessera.example');
  await open(page, '/customers/initech');
  await page.getByRole('link', { name: 'Single sign-on' }).click();
  await expect(page).toHaveURL(/\/sso\?customer=initech$/);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Confirm initech.example' }).click();
  await expect(page.locator('tr[data-domain="initech.example"]')).toContainText('Confirmed');
  await signOut(page);

  // Bob signs in through Initech's provider and lands in Initech's portal.
  await continueWithSso(page, 'bob@initech.example');
  await expect(page).not.toHaveURL(new RegExp(`^${baseURL}`));
  await signInAtProvider(page, 'bob', 'bob-at-the-idp');
  await expect(page).toHaveURL(`${baseURL}/entitlements`);
  await expect(page.getByRole('banner')).toContainText('Initech');
  await expect(page.getByRole('banner')).toContainText('Bob Porter');
  await signOut(page);

  // Someone Initech never invited is refused: the provider vouches for them, but Initech
  // does not make members at first sign-in. (Another person at the same computer: the
  // provider's own sign-in of Bob is forgotten first.)
  await page.context().clearCookies();
  await continueWithSso(page, 'zed@initech.example');
  await signInAtProvider(page, 'zed', 'zed-at-the-idp');
  await expect(page).toHaveURL(/\/signin\?sso=unknown$/);
  await expect(page.getByRole('alert').filter({ hasText: 'Ask your administrator to invite you' })).toBeVisible();
});
