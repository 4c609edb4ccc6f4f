import { expect, test } from './fixtures/server';
import { open, RenewalsPage, signInAs } from './fixtures/self_service';

test('a trial ending within 30 days shows a banner on every page of its organisation', async ({ page }) => {
  await signInAs(page, 'grace@globex.example');
  await expect(page).toHaveURL(/\/entitlements$/);
  const renewals = new RenewalsPage(page);
  await expect(renewals.banner).toContainText('Acme Analytics: trial ends on');
  await expect(renewals.banner).toContainText('(in 10 days)');
  await renewals.banner.getByRole('link', { name: 'See renewals' }).click();
  await expect(page).toHaveURL(/\/renewals$/);
  await expect(renewals.banner).toBeVisible();

  const card = renewals.card('Acme Analytics');
  await expect(card).toContainText('Trial ends on');
  await expect(card).toContainText('in 10 days');
  await expect(card).toContainText('Renews automatically');
  await expect(card.getByText('14 days', { exact: true })).toBeVisible();
  await expect(card).toContainText('stays usable for 14 days with a warning, then stops');
  await expect(card.getByRole('link', { name: 'Change plan at renewal' })).toHaveAttribute(
    'href',
    /\/requests\/new\?entitlement=\d+&kind=plan&at_renewal=on$/,
  );
  await card.getByRole('link', { name: 'Ask to renew' }).click();
  await expect(page.getByRole('heading', { name: /Renew Acme Analytics on Business/ })).toBeVisible();
});

test('an organisation that renews by itself sees no banner', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  const renewals = new RenewalsPage(page);
  await expect(page.getByRole('heading', { name: /entitlements/ })).toBeVisible();
  await expect(renewals.banner).toHaveCount(0);
  await renewals.goto();
  const card = renewals.card('Acme Analytics');
  await expect(card).toContainText('Renews on');
  await expect(card).toContainText('in 45 days');
  await expect(card).toContainText('It renews by itself.');
  await expect(renewals.banner).toHaveCount(0);
  await open(page, '/usage');
  await expect(renewals.banner).toHaveCount(0);
});
