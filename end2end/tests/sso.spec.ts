import { expect, test } from './fixtures/server';
import { SignInPage, waitForHydration } from './fixtures/portal';

test.use({
  vendorProvider: {
    accounts: [
      { sub: 'sam', email: 'staff@tessera.example', email_verified: true, name: 'Sam Staff', password: 'sam-at-the-idp' },
      { sub: 'una', email: 'una@tessera.example', email_verified: false, name: 'Una Verified', password: 'una-at-the-idp' },
    ],
  },
});

/** The provider's own login form (oidc-provider's development pages). */
async function signInAtProvider(page: import('@playwright/test').Page, login: string, password: string) {
  await expect(page.getByRole('heading', { name: 'Sign-in' })).toBeVisible();
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill(password);
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

test("vendor staff sign in through the vendor's identity provider and land where they were going", async ({ page, baseURL }) => {
  await page.goto('/audit');
  await expect(page).toHaveURL(/\/signin\?next=(%2F|\/)audit$/);
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Sign in with Tessera Staff ID' }).click();
  await expect(page).not.toHaveURL(new RegExp(`^${baseURL}`));
  await signInAtProvider(page, 'sam', 'sam-at-the-idp');

  await expect(page).toHaveURL(`${baseURL}/audit`);
  await expect(page.getByRole('banner')).toContainText('Sam Staff');
  // A new browser session: signed in there, and nowhere else.
  await page.goto('/account');
  await expect(page.getByRole('main')).toContainText('This browser');
});

test('an email the provider has not verified is refused with a clear message, and no one is signed in', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await page.getByRole('link', { name: 'Sign in with Tessera Staff ID' }).click();
  await signInAtProvider(page, 'una', 'una-at-the-idp');
  await expect(page).toHaveURL(/\/signin\?sso=unverified$/);
  await expect(page.getByRole('alert').filter({ hasText: 'not verified your email' })).toBeVisible();
  await page.goto('/customers');
  await expect(page).toHaveURL(/\/signin\?next=(%2F|\/)customers$/);
});
