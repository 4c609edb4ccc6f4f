import { expect, test } from './fixtures/server';
import { open, signInAs } from './fixtures/self_service';

test('a trial ending within 30 days shows a banner on every page of its organisation', async ({ page }) => {
  await signInAs(page, 'grace@globex.example');
  const banner = page.getByRole('complementary', { name: 'Renewal notice' });
  await expect(banner).toContainText('Acme Analytics: trial ends on');
  await expect(banner).toContainText('(in 10 days)');
  await banner.getByRole('link', { name: 'See renewals' }).click();
  await expect(page).toHaveURL(/\/renewals$/);
  const card = page.getByRole('article', { name: 'Acme Analytics renewal' });
  await expect(card).toContainText('Trial ends on');
  await expect(card).toContainText('stays usable for 14 days with a warning');
  await expect(page.getByRole('complementary', { name: 'Renewal notice' })).toBeVisible();
  await card.getByRole('link', { name: 'Ask to renew' }).click();
  await expect(page.getByRole('heading', { name: /Renew Acme Analytics on Business/ })).toBeVisible();
});

test('an organisation that renews by itself sees no banner', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  await open(page, '/renewals');
  await expect(page.getByRole('article', { name: 'Acme Analytics renewal' })).toContainText('It renews by itself.');
  await expect(page.getByRole('complementary', { name: 'Renewal notice' })).toHaveCount(0);
});
