import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures/server';
import { SignInPage } from './fixtures/portal';

/** Clicks the download link `name` and returns the file's name and its CSV lines. */
async function download(page: Page, name: string): Promise<{ file: string; lines: string[] }> {
  const links = page.getByRole('navigation', { name: 'Download CSV' }).first();
  const [file] = await Promise.all([page.waitForEvent('download'), links.getByRole('link', { name }).click()]);
  const path = await file.path();
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\r\n'), 'CRLF line ends').toBe(true);
  return { file: file.suggestedFilename(), lines: text.trimEnd().split('\r\n') };
}

test('a customer admin downloads their own entitlements and seats as CSV from the portal', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('ada@initech.example');
  await expect(page).toHaveURL(/\/entitlements$/);

  const entitlements = await download(page, 'Entitlements CSV');
  expect(entitlements.file).toMatch(/^tessera-initech-entitlements-\d{4}-\d{2}-\d{2}\.csv$/);
  expect(entitlements.lines[0].split(',').slice(0, 4)).toEqual(['entitlement_id', 'customer', 'customer_name', 'product']);
  expect(entitlements.lines).toHaveLength(2);
  expect(entitlements.lines[1]).toContain(',initech,Initech,acme-analytics,team,');

  const seats = await download(page, 'Seats CSV');
  expect(seats.lines).toHaveLength(3);
  expect(seats.lines.slice(1).map((l) => l.split(',')[3]).sort()).toEqual(['ada@initech.example', 'bob@initech.example']);
  // Nothing of another organisation.
  expect([...entitlements.lines, ...seats.lines].join('\n')).not.toMatch(/globex|umbrella/);
});

test('vendor staff download every customer from the console', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('staff@tessera.example');
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.getByRole('link', { name: 'Customers', exact: true }).click();
  await expect(page).toHaveURL(/\/customers$/);
  const { file, lines } = await download(page, 'Entitlements CSV');
  expect(file).toMatch(/^tessera-entitlements-\d{4}-\d{2}-\d{2}\.csv$/);
  const customers = lines.slice(1).map((l) => l.split(',')[1]);
  expect(customers).toEqual(expect.arrayContaining(['initech', 'globex', 'umbrella']));
});
