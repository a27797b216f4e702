// Signs a person in to the allauth site through Gatehouse in Chromium, once
// per provider, and prints what the site's /whoami/ page says, one line each.
// Usage: node allauth_signin.js SITE_URL PASSWORD PROVIDER=LOGIN...
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'end2end', 'node_modules', '@playwright/test'));

(async () => {
  const [site, password, ...pairs] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let failed = false;
  try {
    for (const pair of pairs) {
      const [provider, login] = pair.split('=');
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(`${site}/accounts/${provider}/login/`);
        // Gatehouse's sign-in page, then its consent page.
        await page.getByLabel('Username or email').fill(login);
        await page.getByLabel('Password', { exact: true }).fill(password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('button', { name: 'Allow' }).click();
        await page.waitForURL(`${site}/whoami/`, { timeout: 30000 });
        console.log(`${provider}: ${(await page.textContent('body')).trim()}`);
      } catch (e) {
        failed = true;
        console.log(`${provider}: FAILED at ${page.url()}: ${e.message.split('\n')[0]}`);
        await page.waitForLoadState().catch(() => {});
        console.log((await page.content().catch(() => '')).slice(0, 3000));
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();
