import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIRequestContext, Page } from '@playwright/test';
import { Webhook } from 'standardwebhooks';
import { expect, test } from './fixtures/server';
import { API_KEY, open, signInAs } from './fixtures/self_service';
import { waitForHydration } from './fixtures/portal';

/** One request the receiver was sent, and what it answered. */
interface Received {
  id: string;
  type: string;
  verified: boolean;
  status: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * The vendor's system on loopback, as it would receive webhooks: each delivery is verified
 * with the secret it was given (Standard Webhooks' own library), the first one it verifies
 * is answered 500 (as a receiver that fell over would) and every one after 204; one it
 * cannot verify is answered 401.
 */
class Receiver {
  secret = '';
  readonly received: Received[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Receiver> {
    const holder: { receiver?: Receiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const status = holder.receiver ? holder.receiver.take(req, Buffer.concat(chunks).toString('utf8')) : 503;
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.receiver = new Receiver(server, `http://127.0.0.1:${port}/hooks`);
    return holder.receiver;
  }

  private take(req: IncomingMessage, body: string): number {
    const header = (name: string) => String(req.headers[name] ?? '');
    const headers = {
      'webhook-id': header('webhook-id'),
      'webhook-timestamp': header('webhook-timestamp'),
      'webhook-signature': header('webhook-signature'),
    };
    let type = '';
    let verified = false;
    try {
      type = (new Webhook(this.secret).verify(body, headers) as { type: string }).type;
      verified = true;
    } catch {
      verified = false;
    }
    const firstVerified = verified && !this.received.some((r) => r.verified);
    const status = !verified ? 401 : firstVerified ? 500 : 204;
    this.received.push({ id: headers['webhook-id'], type, verified, status, body, headers });
    return status;
  }

  /** The deliveries of `type` it verified and took (answered 204), in order. */
  accepted(type: string): Received[] {
    return this.received.filter((r) => r.verified && r.status === 204 && r.type === type);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const API = { Authorization: `Bearer ${API_KEY}` };

/** Suspends or resumes Initech's entitlement through the provisioning API, as the vendor's billing would. */
async function setSuspended(request: APIRequestContext, action: 'suspend' | 'resume', reason: string) {
  const listed = await request.get('/api/v1/entitlements?customer=initech', { headers: API });
  expect(listed.status()).toBe(200);
  const id = (await listed.json()).data[0].id;
  const changed = await request.post(`/api/v1/entitlements/${id}/${action}`, { headers: API, data: { reason } });
  expect(changed.status(), await changed.text()).toBe(200);
}

/** The endpoint at `url` as the console's server function describes it to a signed-in admin. */
async function endpointAt(page: Page, url: string) {
  const listed = await page.request.post('/api/get_webhooks', { headers: { accept: 'application/json' }, form: {} });
  expect(listed.status()).toBe(200);
  const found = (await listed.json()).endpoints.find((e: { url: string }) => e.url === url);
  expect(found, `an endpoint at ${url}`).toBeTruthy();
  return found as { id: number; counts: { pending: number; delivered: number; failed: number } };
}

/** The signing secret the page shows once. */
async function shownSecret(page: Page): Promise<string> {
  const secret = (await page.getByTestId('signing-secret').textContent()) ?? '';
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  return secret;
}

test('a vendor admin adds a webhook endpoint: deliveries are signed, retried, resent, and signed with a rotated secret', async ({
  page,
  browser,
  request,
}) => {
  test.setTimeout(90_000);
  const receiver = await Receiver.start();
  try {
    await signInAs(page, 'admin@tessera.example');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await expect(page).toHaveURL(/\/webhooks$/);
    await expect(page.getByRole('heading', { name: 'Webhooks', level: 1 })).toBeVisible();
    await expect(page.getByText('No endpoint yet: add one below.')).toBeVisible();
    await waitForHydration(page);

    // The billing system hears of suspensions and resumptions only.
    await page.getByLabel('URL', { exact: true }).fill(receiver.url);
    await page.getByLabel('Description', { exact: true }).fill('Billing system');
    await page.getByText('Event types (none ticked: all of them)').click();
    await page.getByLabel('entitlement.suspended', { exact: true }).check();
    await page.getByLabel('entitlement.resumed', { exact: true }).check();
    await page.getByRole('button', { name: 'Add the endpoint' }).click();
    const added = page.getByRole('status').filter({ hasText: `Endpoint ${receiver.url} added.` });
    await expect(added).toContainText('Copy it now: it is not shown again.');
    const secret = await shownSecret(page);
    receiver.secret = secret;
    const row = page.getByRole('row').filter({ hasText: receiver.url });
    await expect(row).toContainText('Billing system');
    await expect(row).toContainText('entitlement.suspended');
    await expect(row).toContainText('entitlement.resumed');
    await expect(row).toContainText('Enabled');
    await expect(row).toContainText('0 pending · 0 delivered · 0 failed');

    // The secret was shown once: the page, loaded again, has it no more.
    await page.reload();
    await waitForHydration(page);
    await expect(page.getByRole('row').filter({ hasText: receiver.url })).toBeVisible();
    await expect(page.getByTestId('signing-secret')).toHaveCount(0);
    expect(await page.content()).not.toContain(secret);

    // Billing suspends Initech: the receiver fails the first attempt and verifies the retry.
    await setSuspended(request, 'suspend', 'Invoice overdue');
    await expect.poll(() => receiver.accepted('entitlement.suspended').length, { timeout: 20_000 }).toBe(1);
    const suspension = receiver.accepted('entitlement.suspended')[0];
    expect(suspension.id).toMatch(/^evt_\d+$/);
    expect(receiver.received.filter((r) => r.id === suspension.id).map((r) => r.status)).toEqual([500, 204]);
    await expect
      .poll(async () => (await endpointAt(page, receiver.url)).counts, { timeout: 10_000 })
      .toEqual({ pending: 0, delivered: 1, failed: 0 });

    // The log shows it delivered at the second attempt, and the 500 of the first.
    await page.getByRole('link', { name: `Deliveries of ${receiver.url}` }).click();
    await expect(page).toHaveURL(/\/webhooks\/\d+$/);
    await expect(page.getByRole('heading', { name: 'Webhook endpoint', level: 1 })).toBeVisible();
    const log = page.getByRole('table', { name: 'Deliveries, newest first' });
    const delivery = log.getByRole('row').filter({ hasText: 'entitlement.suspended' });
    await expect(delivery).toHaveCount(1);
    await expect(delivery.getByRole('cell').nth(0)).toHaveText(suspension.id.replace('evt_', ''));
    await expect(delivery.getByRole('cell').nth(2)).toHaveText('Delivered');
    await expect(delivery.getByRole('cell').nth(3)).toHaveText('2');
    await expect(delivery.getByRole('cell').nth(4)).toHaveText('204');
    await delivery.getByRole('link', { name: /^Attempts of delivery \d+$/ }).click();
    await expect(page).toHaveURL(/\/webhooks\/\d+\/deliveries\/\d+$/);
    const [, endpointId, deliveryId] = /\/webhooks\/(\d+)\/deliveries\/(\d+)$/.exec(page.url()) ?? [];
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Delivery ${deliveryId}`);
    const attempts = page.getByRole('table', { name: 'Attempts' }).getByRole('row');
    await expect(attempts).toHaveCount(3);
    await expect(attempts.nth(1).getByRole('cell').nth(3)).toHaveText('500');
    await expect(attempts.nth(1).getByRole('cell').nth(4)).toHaveText('the endpoint answered 500');
    await expect(attempts.nth(2).getByRole('cell').nth(3)).toHaveText('204');

    // Sent again by hand: the receiver is sent the same webhook-id, and can tell.
    await waitForHydration(page);
    await page.getByRole('button', { name: `Resend delivery ${deliveryId} (entitlement.suspended)` }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Sent again: it is tried at once.' })).toBeVisible();
    await expect
      .poll(() => receiver.accepted('entitlement.suspended').map((r) => r.id), { timeout: 15_000 })
      .toEqual([suspension.id, suspension.id]);
    const detail = { headers: { accept: 'application/json' }, form: { endpoint: endpointId, id: deliveryId } };
    await expect
      .poll(async () => (await (await page.request.post('/api/get_webhook_delivery', detail)).json()).attempts.length, { timeout: 10_000 })
      .toBe(3);
    await page.reload();
    await expect(page.getByRole('table', { name: 'Attempts' }).getByRole('row')).toHaveCount(4);

    // A new secret, the one before stopping at once: the next delivery verifies with it only.
    await open(page, '/webhooks');
    const again = page.getByRole('row').filter({ hasText: receiver.url });
    await again.getByLabel(`Hours the secret before still signs deliveries to ${receiver.url}`).fill('0');
    await again.getByRole('button', { name: `Rotate the secret of ${receiver.url}` }).click();
    await expect(page.getByRole('status').filter({ hasText: `New signing secret for ${receiver.url}.` })).toContainText(
      'Copy it now: it is not shown again.',
    );
    const rotated = await shownSecret(page);
    expect(rotated).not.toBe(secret);
    receiver.secret = rotated;
    await setSuspended(request, 'resume', 'Paid');
    await expect.poll(() => receiver.accepted('entitlement.resumed').length, { timeout: 20_000 }).toBe(1);
    const resumption = receiver.accepted('entitlement.resumed')[0];
    expect(() => new Webhook(secret).verify(resumption.body, resumption.headers)).toThrow();
    expect(receiver.received.filter((r) => !r.verified)).toEqual([]);
  } finally {
    await receiver.stop();
  }

  // A customer's admin is shown no webhooks, and refused them.
  const context = await browser.newContext({ baseURL: new URL(page.url()).origin });
  const ada = await context.newPage();
  await signInAs(ada, 'ada@initech.example');
  await expect(ada.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' })).toHaveCount(0);
  await open(ada, '/webhooks');
  await expect(ada.getByRole('alert').filter({ hasText: 'You do not have access to this.' })).toBeVisible();
  await expect(ada.getByRole('heading', { name: 'Add an endpoint' })).toHaveCount(0);
  const refused = await ada.request.post('/api/get_webhooks', { headers: { accept: 'application/json' }, form: {} });
  expect(refused.status()).toBe(403);
  await context.close();
});
