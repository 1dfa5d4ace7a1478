/**
 * The typed client lives in the light workspace package `@oprelay/client` (no server dependencies);
 * `oprelay-bridge/client` re-exports it for code written against this package.
 */
export * from '@oprelay/client';
