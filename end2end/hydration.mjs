// Page figures in a real browser (Debian's Chromium), for `make bench-pages`: for each
// page, the bytes of script and wasm that crossed the wire, and when the page was
// interactive (the bundle's `tessera:hydrated` mark, in ms since the page was asked for),
// as the median over RUNS loads.
//   node end2end/hydration.mjs <base URL> <runs>
import { chromium } from '@playwright/test';

const [base, runs = '10'] = process.argv.slice(2);
const pages = [
  { who: 'ada@initech.example', label: 'portal  /entitlements (customer admin)', path: '/entitlements' },
  { who: 'ada@initech.example', label: 'portal  /instances    (customer admin)', path: '/instances' },
  { who: 'staff@tessera.example', label: 'console /dashboard    (vendor staff)', path: '/dashboard' },
  { who: 'staff@tessera.example', label: 'console /customers    (vendor staff)', path: '/customers' },
  { who: 'admin@tessera.example', label: 'console /catalog      (vendor admin)', path: '/catalog' },
];
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
for (const { who, label, path } of pages) {
  const context = await browser.newContext({ baseURL: base });
  const signIn = await context.request.post('/api/sign_in', {
    headers: { accept: 'application/json' },
    form: { email: who, password: 'tessera-demo' },
  });
  if (!signIn.ok()) throw new Error(`sign-in of ${who}: ${signIn.status()}`);
  const times = [];
  let wire = 0;
  for (let i = 0; i < Number(runs); i++) {
    const page = await context.newPage();
    // A first visit: nothing cached, as a person arriving.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const types = new Map();
    cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type));
    let code = 0;
    cdp.on('Network.loadingFinished', (e) => {
      if (['Script', 'Fetch', 'Other'].includes(types.get(e.requestId))) code += e.encodedDataLength;
    });
    await page.goto(path);
    await page.waitForFunction(() => performance.getEntriesByName('tessera:hydrated').length > 0);
    times.push(await page.evaluate(() => performance.getEntriesByName('tessera:hydrated')[0].startTime));
    wire = code;
    await page.close();
  }
  console.log(`${label}: interactive at ${median(times).toFixed(0)} ms (median of ${runs}), script and wasm on the wire ${(wire / 1024).toFixed(1)} KiB`);
  await context.close();
}
await browser.close();
