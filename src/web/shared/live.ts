/**
 * Status messages for assistive technology (WCAG 4.1.3): one polite live region per page, also
 * shown on screen, so that what a screen reader says and what a sighted person reads are the same.
 */

export interface Announcer {
  announce(message: string): void;
}

export function liveRegion(region: HTMLElement): Announcer {
  region.setAttribute('role', 'status');
  region.setAttribute('aria-live', 'polite');
  let last = '';
  return {
    announce(message) {
      // Repeating the same words would be read out again for nothing.
      if (message === last) return;
      last = message;
      region.textContent = message;
    },
  };
}
