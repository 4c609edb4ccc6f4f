import { expect, test } from './fixtures/server';
import { SeatsPage, signInAs } from './fixtures/self_service';
import { SignInPage, waitForHydration } from './fixtures/portal';

test('an admin assigns a seat and sees the count change, then frees it', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  const seats = new SeatsPage(page);
  await seats.goto();
  await expect(seats.count()).toHaveText('2 of 10 seats used');
  const cy = page.getByRole('row', { name: /Cy Lumbergh/ });
  await expect(cy).toContainText('No seat');

  await seats.assign('Cy Lumbergh');
  await expect(seats.count()).toHaveText('3 of 10 seats used');
  await expect(cy).toContainText('Since');

  await seats.free('Cy Lumbergh');
  await expect(seats.count()).toHaveText('2 of 10 seats used');
  await expect(cy).toContainText('No seat');
});

test('at the cap the page says so, offers more seats and refuses another', async ({ page }) => {
  test.setTimeout(90_000);
  await signInAs(page, 'ada@initech.example');
  const seats = new SeatsPage(page);
  await seats.goto();
  for (let n = 1; n <= 8; n++) {
    await seats.invite(`new${n}@initech.example`, `New Person ${n}`);
    await expect(seats.count()).toHaveText(`${2 + n} of 10 seats used`);
  }
  await expect(page.getByText('All 10 seats are in use.')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Request more seats' })).toHaveAttribute('href', /kind=seats/);

  await seats.assign('Cy Lumbergh');
  await expect(page.getByRole('alert').filter({ hasText: 'Every seat is taken' })).toBeVisible();
  await expect(seats.count()).toHaveText('10 of 10 seats used');
});

test('an invited user sets a password through the link, once, and is signed in', async ({ page, browser }) => {
  await signInAs(page, 'ada@initech.example');
  const seats = new SeatsPage(page);
  await seats.goto();
  const link = await seats.invite('dee@initech.example', 'Dee Dee');
  await expect(page.getByRole('row', { name: /Dee Dee/ })).toContainText('Invited');

  // The link is opened by the invitee, in a browser of their own.
  const context = await browser.newContext({ baseURL: new URL(link).origin });
  const invitee = await context.newPage();
  await invitee.goto(link);
  await waitForHydration(invitee);
  await expect(invitee.getByRole('heading', { name: 'Join Initech on Tessera' })).toBeVisible();
  await invitee.getByLabel('Password', { exact: true }).fill('short');
  await invitee.getByLabel('Repeat password').fill('short');
  await invitee.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(invitee.getByText('Use at least 10 characters.')).toBeVisible();

  await invitee.getByLabel('Password', { exact: true }).fill('a long passphrase');
  await invitee.getByLabel('Repeat password').fill('a long passphrase');
  await invitee.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(invitee).toHaveURL(/\/entitlements$/);
  await expect(invitee.getByText('Dee Dee')).toBeVisible();

  // Used once: the link no longer opens.
  const strangerContext = await browser.newContext();
  const stranger = await strangerContext.newPage();
  await stranger.goto(link);
  await expect(stranger.getByRole('alert')).toContainText('has been used or has expired');

  // And the new password signs in.
  const againContext = await browser.newContext({ baseURL: new URL(link).origin });
  const again = await againContext.newPage();
  const signIn = new SignInPage(again);
  await signIn.goto();
  await signIn.signIn('dee@initech.example', 'a long passphrase');
  await expect(again).toHaveURL(/\/entitlements$/);
  await context.close();
  await strangerContext.close();
  await againContext.close();
});
