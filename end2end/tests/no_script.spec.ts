import { expect, test } from './fixtures/server';
import { DEMO_PASSWORD, waitForHydration } from './fixtures/portal';

// Pages are drawn on the server; only a few parts run code in the browser. Every form is a
// plain HTML form first: these journeys run with JavaScript off, as a page does before its
// bundle has arrived.
test.describe('with JavaScript off', () => {
  test.use({ javaScriptEnabled: false });

  test('a customer admin signs in, is told of a mistake, invites a user and frees a seat', async ({ page }) => {
    await page.goto('/signin');
    await page.getByLabel('Email', { exact: true }).fill('ada@initech.example');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('The email or password is not correct.');
    await expect(page).toHaveURL(/\/signin$/);
    await page.getByLabel('Email', { exact: true }).fill('ada@initech.example');
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/entitlements$/);

    await page.getByRole('link', { name: 'Manage seats' }).click();
    await expect(page).toHaveURL(/\/entitlements\/\d+\/seats$/);
    const seatsPage = page.url();
    await expect(page.locator('.seat-count')).toHaveText('2 of 10 seats used');

    await page.getByLabel('Email').fill('not an address');
    await page.getByLabel('Name', { exact: true }).fill('Grace');
    await page.getByRole('button', { name: 'Create invitation' }).click();
    await expect(page).toHaveURL(seatsPage);
    await expect(page.locator('.invite .field-error').first()).not.toBeEmpty();
    await expect(page.locator('.seat-count')).toHaveText('2 of 10 seats used');

    await page.getByLabel('Email').fill('grace@initech.example');
    await page.getByLabel('Name', { exact: true }).fill('Grace');
    await page.getByRole('button', { name: 'Create invitation' }).click();
    await expect(page.getByRole('textbox', { name: 'Invitation link' })).toHaveValue(/\/invite\//);
    await expect(page.locator('.seat-count')).toHaveText('3 of 10 seats used');
    // The link was the answer to that post: it is not shown again.
    await page.reload();
    await expect(page.getByRole('textbox', { name: 'Invitation link' })).toHaveCount(0);

    await page.getByRole('button', { name: 'Free the seat of Grace' }).click();
    await expect(page.locator('.seat-count')).toHaveText('2 of 10 seats used');
    await expect(page).toHaveURL(seatsPage);
  });
});

test('with JavaScript on, a refused plain form is filled in again with what was typed', async ({ page }) => {
  await page.goto('/signin');
  await waitForHydration(page);
  await page.getByLabel('Email', { exact: true }).fill('ada@initech.example');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/entitlements$/);
  await page.getByRole('link', { name: 'Manage seats' }).click();
  await waitForHydration(page);

  await page.getByLabel('Email').fill('not an address');
  await page.getByLabel('Name', { exact: true }).fill('Grace Hopper');
  await page.getByLabel('Give a seat').uncheck();
  await page.getByLabel('Administrator').check();
  await page.getByRole('button', { name: 'Create invitation' }).click();
  await expect(page.locator('.invite .field-error').first()).not.toBeEmpty();
  await waitForHydration(page);
  await expect(page.getByLabel('Email')).toHaveValue('not an address');
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('Grace Hopper');
  await expect(page.getByLabel('Give a seat')).not.toBeChecked();
  await expect(page.getByLabel('Administrator')).toBeChecked();
});
