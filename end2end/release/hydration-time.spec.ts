import { test } from '@playwright/test';
import { reportHydrationTime } from '../tests/helpers';

// Reported, not asserted: how long after navigation the release build's
// sign-in page is hydrated. Timings on a shared machine vary.
test('hydration time of the sign-in page (release build) is reported', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'hydrated', 'hydration only happens with JavaScript');
  await reportHydrationTime(page, testInfo, 7, 'release sign-in page');
});
