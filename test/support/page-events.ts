/**
 * The apps announce what they seal and open as DOM events (`examvault:sealed`, `examvault:opened`)
 * whose details the tests compare with what the server holds. The test collects them through a
 * binding exposed to the whole browser context, so every page of it (after a reload, in a new
 * window) reports into the same list, in dispatch order.
 */
import type { BrowserContext } from 'playwright-core';

/** The `detail` of every `event` any page of `context` dispatches on its document from now on. */
export async function collectPageEvents<T>(context: BrowserContext, event: string): Promise<T[]> {
  const seen: T[] = [];
  const binding = `__examvaultCollect_${event.replace(/\W/g, '_')}`;
  await context.exposeBinding(binding, (_source, detail: T) => void seen.push(detail));
  await context.addInitScript(({ event, binding }) => {
    document.addEventListener(event, (e) => (window as unknown as Record<string, (d: unknown) => void>)[binding]?.((e as CustomEvent).detail));
  }, { event, binding });
  return seen;
}
