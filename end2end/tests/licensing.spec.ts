import { readFileSync } from 'node:fs';
import type { APIRequestContext, Locator, Page, Response } from '@playwright/test';
import { expect, test } from './fixtures/server';
import { InstancesPage, open, signInAs } from './fixtures/self_service';
import { PortalPage, waitForHydration } from './fixtures/portal';
import {
  activationRequest,
  deactivationReceipt,
  decodeLicence,
  keyFromBytes,
  parseLicenseKey,
  sealActivation,
  sealDeactivation,
  unixTime,
} from './fixtures/offline';

const KEY_FORMAT = /^TLK-[0-9A-Z]{8}(-[0-9A-Z]{8}){3}$/;

/** A feature of Initech's Team plan. */
const FEATURE = 'reports.export';

/** The license key block of the (only) Acme Analytics card on the page. */
function keyBlock(page: Page): Locator {
  return new PortalPage(page).entitlement('Acme Analytics').getByRole('region', { name: 'License key' });
}

/** The key the card shows once asked to (it is in no page until then). */
async function shownKey(page: Page): Promise<string> {
  await waitForHydration(page);
  const show = keyBlock(page).getByRole('button', { name: 'Show the license key' });
  const shown = keyBlock(page).getByTestId('license-key');
  // A click that lands while the card is still being made interactive does nothing; a
  // person clicks again, and so does this.
  await expect(async () => {
    if (await show.isVisible()) await show.click();
    await expect(shown).toHaveText(KEY_FORMAT, { timeout: 1_000 });
  }).toPass({ timeout: 10_000 });
  return displayedKey(page);
}

/** The key the card shows now. */
async function displayedKey(page: Page): Promise<string> {
  const shown = keyBlock(page).getByTestId('license-key');
  await expect(shown).toHaveText(KEY_FORMAT);
  return ((await shown.textContent()) ?? '').trim();
}

/** A check made by the vendor's software with a license key. */
function check(request: APIRequestContext, key: string) {
  return request.post('/api/v1/check', { headers: { Authorization: `Bearer ${key}` }, data: { feature: FEATURE } });
}

/** The offline activation section of the instances page. */
class OfflineActivation {
  readonly section: Locator;
  readonly request: Locator;
  readonly requestFile: Locator;
  readonly licence: Locator;
  readonly download: Locator;
  readonly receipt: Locator;
  readonly receiptFile: Locator;

  constructor(readonly page: Page) {
    this.section = page.getByRole('region', { name: 'Offline activation' });
    this.request = this.section.getByLabel('Activation request', { exact: true });
    this.requestFile = this.section.getByLabel('Activation request file');
    this.licence = this.section.getByTestId('licence');
    this.download = this.section.getByTestId('licence-download');
    this.receipt = this.section.getByLabel('Deactivation receipt', { exact: true });
    this.receiptFile = this.section.getByLabel('Deactivation receipt file');
  }

  /** Submits `text` as an activation request; the server function's answer. */
  async issue(text: string): Promise<Response> {
    await this.request.fill(text);
    return this.submitRequest();
  }

  /** Chooses the request file the machine wrote, whose text fills the box, and submits it. */
  async issueFile(name: string, text: string): Promise<Response> {
    await this.requestFile.setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });
    await expect(this.request).toHaveValue(text);
    return this.submitRequest();
  }

  private async submitRequest(): Promise<Response> {
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.url().includes('/activate_offline') && r.request().method() === 'POST'),
      this.section.getByRole('button', { name: 'Issue licence' }).click(),
    ]);
    return response;
  }

  /** Submits `text` and expects it refused, with a message matching `why` next to the request. */
  async refused(text: string, why: RegExp) {
    const response = await this.issue(text);
    expect(response.status()).toBe(400);
    const error = await response.json();
    expect(error.Invalid?.field).toBe('request');
    expect(error.Invalid?.message).toMatch(why);
    await expect(this.request).toHaveAccessibleDescription(error.Invalid.message);
    await expect(this.licence).toHaveCount(0);
  }

  /** Submits the receipt in the text box; the server function's answer. */
  async free(): Promise<Response> {
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.url().includes('/deactivate_offline') && r.request().method() === 'POST'),
      this.section.getByRole('button', { name: 'Free the slot' }).click(),
    ]);
    return response;
  }
}

test('a customer admin sees the license key, regenerates it, and only the new key works', async ({ page, request }) => {
  await signInAs(page, 'ada@initech.example');
  const block = keyBlock(page);
  await expect(block).toBeVisible();
  await expect(page.locator('body')).not.toContainText('TLK-');
  const old = await shownKey(page);
  await expect(block).toContainText(parseLicenseKey(old).id);
  expect((await check(request, old)).status()).toBe(200);

  // The first click only asks; Cancel leaves the key as it is.
  const regenerate = block.getByRole('button', { name: 'Regenerate', exact: true });
  const confirm = block.getByRole('button', { name: 'Yes, regenerate: the old key stops working' });
  await regenerate.click();
  await block.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toHaveCount(0);
  await expect(block.getByTestId('license-key')).toHaveText(old);

  await regenerate.click();
  await confirm.click();
  await expect(block.getByTestId('license-key')).not.toHaveText(old);
  await expect(confirm).toHaveCount(0);
  const fresh = await displayedKey(page);
  expect(parseLicenseKey(fresh).id).not.toBe(parseLicenseKey(old).id);
  await expect(block).toContainText(parseLicenseKey(fresh).id);

  expect((await check(request, fresh)).status()).toBe(200);
  expect((await check(request, old)).status()).toBe(401);

  // Read again, the card shows the new key.
  await page.reload();
  expect(await shownKey(page)).toBe(fresh);
});

test('the license key is copied to the clipboard', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signInAs(page, 'ada@initech.example');
  const key = await shownKey(page);
  await keyBlock(page).getByRole('button', { name: 'Copy the license key' }).click();
  await expect(keyBlock(page).getByText('Copied.')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
});

test('a plain member sees no license key', async ({ page }) => {
  await signInAs(page, 'bob@initech.example');
  const card = new PortalPage(page).entitlement('Acme Analytics');
  await expect(card).toContainText('Team plan');
  await expect(card.getByRole('region', { name: 'License key' })).toHaveCount(0);
  await expect(page.getByTestId('license-key')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText('TLK-');
});

test("vendor staff see the key and the instances from the customer's page, not in the portal viewed as the customer", async ({ page }) => {
  await signInAs(page, 'staff@tessera.example');
  await open(page, '/customers/initech');
  await shownKey(page);
  await page.getByRole('link', { name: 'Instances', exact: true }).click();
  await expect(page).toHaveURL(/\/instances\?customer=initech$/);
  await expect(new InstancesPage(page).count('Acme Analytics', 2, 3)).toBeVisible();
  await expect(page.getByRole('region', { name: 'Offline activation' })).toBeVisible();

  await open(page, '/customers/initech/portal');
  await page.getByRole('button', { name: "Open the customer's portal" }).click();
  await expect(new PortalPage(page).entitlement('Acme Analytics')).toContainText('Team plan');
  await expect(page.getByTestId('license-key')).toHaveCount(0);
});

test('an air-gapped machine is licensed from its request and gives its slot back with a receipt', async ({ page }) => {
  await signInAs(page, 'ada@initech.example');
  const key = parseLicenseKey(await shownKey(page));
  const instances = new InstancesPage(page);
  await instances.goto();
  await expect(instances.count('Acme Analytics', 2, 3)).toBeVisible();
  const offline = new OfflineActivation(page);

  // What is not a good request is refused while a slot is free, each for its own reason.
  await offline.refused('not a request', /not a Tessera offline document/i);
  await offline.refused(sealActivation(activationRequest(key, { fingerprint: 'airgap-old', issued_at: unixTime(-8) }), key), /expired/i);
  // Naming Initech's key but sealed with another: its signature does not match.
  const other = keyFromBytes(Buffer.alloc(16, 7));
  await offline.refused(sealActivation(activationRequest(key, { fingerprint: 'airgap-forged' }), other), /signature/i);
  // Another key altogether, which is no key of Initech's.
  await offline.refused(sealActivation(activationRequest(other, { fingerprint: 'airgap-stranger' }), other), /unknown|another organisation/i);

  const fingerprint = 'airgap-lab-7f3e';
  const request = activationRequest(key, { fingerprint, name: 'airgap-lab' });
  expect((await offline.issueFile('airgap-lab.req', sealActivation(request, key))).status()).toBe(200);
  await expect(offline.section.getByRole('status')).toContainText('Licence issued for instance ins_');
  const instance = ((await offline.section.getByTestId('licence-instance').textContent()) ?? '').trim();
  expect(instance).toMatch(/^ins_/);
  // Downloaded as a file named for the product and instance, holding the licence shown.
  const licence = await offline.licence.inputValue();
  const [download] = await Promise.all([page.waitForEvent('download'), offline.download.click()]);
  expect(download.suggestedFilename()).toBe(`acme-analytics-${instance}.jwt`);
  expect(readFileSync(await download.path(), 'utf8')).toBe(licence);

  const { header, claims } = decodeLicence(licence);
  expect(header.typ).toBe('tessera-licence+jwt');
  expect(claims).toMatchObject({ fingerprint, nonce: request.nonce, aud: 'acme-analytics', instance, customer: 'initech' });
  expect(String(claims.instance)).toMatch(/^ins_/);
  await expect(instances.row(instance)).toContainText(fingerprint);

  // The same request again: its nonce was taken.
  await offline.refused(sealActivation(request, key), /already/i);

  // The machine gives its slot back: its receipt, chosen as a file, fills the text box.
  const receipt = sealDeactivation(deactivationReceipt(key, { instance, fingerprint }), key);
  await offline.receiptFile.setInputFiles({ name: 'airgap-lab.receipt.txt', mimeType: 'text/plain', buffer: Buffer.from(receipt) });
  await expect(offline.receipt).toHaveValue(receipt);
  expect((await offline.free()).status()).toBe(200);
  await expect(offline.section.getByRole('status').filter({ hasText: 'Freed instance' })).toHaveText(`Freed instance ${instance}`);
  await expect(instances.row(instance)).toHaveCount(0);
});

test('a vendor admin gives API keys scopes when making them, and changes them after', async ({ page }) => {
  await signInAs(page, 'admin@tessera.example');
  await open(page, '/catalog');
  const keys = page.getByRole('region', { name: 'API keys and signing keys' });
  const demo = keys.getByRole('row').filter({ hasText: 'Demo key' });
  await expect(demo.locator('.scope-list')).toHaveText('enforce, provision, read');
  await demo.getByRole('group', { name: 'Scopes of the key Demo key' }).getByLabel('provision').uncheck();
  await demo.getByRole('button', { name: 'Save the scopes of the key Demo key' }).click();
  await expect(keys.getByRole('status').filter({ hasText: 'Scopes saved.' })).toBeVisible();
  await expect(demo.locator('.scope-list')).toHaveText('enforce, read');

  // A new key may enforce unless told otherwise, and needs at least one scope.
  const create = keys.locator('form').filter({ has: page.getByLabel('New API key name') });
  await expect(create.getByLabel('enforce')).toBeChecked();
  await expect(create.getByLabel('provision')).not.toBeChecked();
  await expect(create.getByLabel('read')).not.toBeChecked();
  await create.getByLabel('enforce').uncheck();
  await create.getByLabel('New API key name').fill('Reporting');
  await create.getByRole('button', { name: 'Create a key' }).click();
  await expect(keys.getByRole('alert').filter({ hasText: /scope/i })).toBeVisible();

  await create.getByLabel('New API key name').fill('Reporting');
  await create.getByLabel('read').check();
  await create.getByRole('button', { name: 'Create a key' }).click();
  await expect(keys.locator('.issued-key')).toContainText('New key “Reporting”');
  await expect(keys.getByRole('row').filter({ hasText: 'Reporting' }).locator('.scope-list')).toHaveText('read');
});
