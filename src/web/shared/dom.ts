/**
 * A few DOM helpers in place of a UI library: build elements, and switch the page's one screen so
 * that keyboard and screen-reader users land on its heading.
 */

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string | boolean>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false) continue;
    e.setAttribute(name, value === true ? '' : value);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/**
 * Replaces the main region with a new screen. The heading takes focus (WCAG 2.4.3: focus moves to the
 * new content, not back to the top of the page) and names the document (2.4.2).
 */
export function showScreen(main: HTMLElement, title: string, appName: string, ...content: Child[]): HTMLHeadingElement {
  const heading = el('h1', { tabindex: '-1' }, title);
  main.replaceChildren(heading, ...content.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  document.title = `${title} – ${appName}`;
  heading.focus();
  return heading;
}

export function button(label: string, onClick: () => void, attrs: Readonly<Record<string, string | boolean>> = {}): HTMLButtonElement {
  const b = el('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', onClick);
  return b;
}
