import { test, expect } from '@playwright/test';
import { gatehouse, settle, signIn, uniqueUser } from './helpers';

// Every page is served with a Content-Security-Policy whose script nonce
// is fresh per response; with it, pages still hydrate (hydrated project)
// and still work as plain HTML (no-js project), and no CSP violation is
// reported. The consent flow under the same policy is driven in
// oauth.spec.ts.

const PAGES = [
  '/',
  '/accounts/profile/',
  '/device/',
  '/o/applications/',
  '/o/applications/register/',
  '/o/authorized_tokens/',
  '/admin/',
];

test('every page carries a nonce policy and breaks none of it', async ({ page }, testInfo) => {
  const violations: string[] = [];
  if (testInfo.project.name === 'hydrated') {
    await page.exposeFunction('reportCspViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as unknown as { reportCspViolation: (v: string) => void }).reportCspViolation(
          `${e.violatedDirective} blocked ${e.blockedURI} on ${document.location.pathname}`,
        );
      });
    });
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
  }
  const staff = uniqueUser(testInfo, 'csp');
  gatehouse(['createsuperuser', '--username', staff.username, '--email', staff.email, '--password-stdin'], `${staff.password}\n`);
  await signIn(page, testInfo, staff.username, staff.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  const nonces = new Set<string>();
  for (const path of PAGES) {
    const response = await page.goto(path);
    expect(response, path).not.toBeNull();
    const csp = response!.headers()['content-security-policy'];
    expect(csp, path).toContain("object-src 'none'");
    expect(csp, path).toContain("base-uri 'none'");
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce, path).toBeTruthy();
    nonces.add(nonce!);
    await settle(page, testInfo);
    await expect(page.locator('main')).toBeVisible();
  }
  expect(nonces.size).toBe(PAGES.length);
  expect(violations).toEqual([]);
});
