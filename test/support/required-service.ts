/**
 * Services some tests need (PostgreSQL, Chromium, promtool). On a developer machine a missing one
 * skips those tests with a loud warning; in CI (`CI=true`) it fails the run, so a broken install
 * can never turn into a green run with fewer tests.
 */
export function skipWhenMissing(service: string, problem: string | undefined): string | false {
  if (problem === undefined) return false;
  if (process.env.CI === 'true') {
    throw new Error(`${service} is required when CI=true, but ${problem}. Install and start it before the tests.`);
  }
  console.warn(`\n*** SKIPPING the tests that need ${service}: ${problem} (CI=true makes this a failure) ***\n`);
  return `${service}: ${problem}`;
}
