/** Minimal typed DOM helpers (no framework: the editor's hot path is canvas, not markup). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: { [name: string]: string | number | boolean | undefined } = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === "className") el.className = String(value);
    // Through CSSOM: a style attribute set by script is inline style, which the CSP refuses.
    else if (name === "style") el.style.cssText = String(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const c of children) el.append(c);
  return el;
}
