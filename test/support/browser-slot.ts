/**
 * A browser to close before the server it visits. node:test runs `after` hooks in the order they were
 * added, so a server whose cleanup was registered first closed first, and waited for any request its
 * page still had in flight until Chromium dropped the connection, minutes later. A helper that starts
 * a server keeps a slot, closes it at the start of its own cleanup, and hands out `take` for the test
 * to give it the browser it launches.
 */
import type { Browser } from 'playwright-core';

export interface BrowserSlot {
  /** Closes this browser before the server; returns it. */
  take(browser: Browser): Browser;
  /** Closes the browsers taken, if any, then runs `then` (the server's cleanup) whatever happened. */
  closeThen(then: () => Promise<unknown>): Promise<void>;
}

export function browserSlot(): BrowserSlot {
  const launched: Browser[] = [];
  return {
    take: (browser) => {
      launched.push(browser);
      return browser;
    },
    closeThen: async (then) => {
      try {
        for (const browser of launched.splice(0)) await browser.close();
      } finally {
        await then();
      }
    },
  };
}
