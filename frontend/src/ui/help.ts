/** The `?` overlay: every shortcut in one place (the same table drives the key handling docs). */
import { h } from "./dom";

export const SHORTCUTS: Array<[string, string]> = [
  ["1 – 9", "Pick a label class"],
  ["V", "Select tool (click an annotation)"],
  ["B / E", "Brush / eraser"],
  ["[ / ]", "Smaller / larger brush"],
  ["P", "Polygon (click vertices, drag to adjust, Enter or first vertex to close, Backspace undoes a vertex)"],
  ["G", "Fill a closed region of the selected annotation"],
  ["X", "Box-to-mask assist (drag a box)"],
  ["N", "New instance (next stroke starts a new object)"],
  ["Delete", "Delete the selected annotation"],
  ["C / Shift+C", "Accept the selected proposal / all proposals"],
  ["H", "Hide / show the selected annotation"],
  ["O", "Outline-only view"],
  ["Wheel", "Zoom at the pointer"],
  ["F / 0", "Fit to window / 1:1"],
  ["Space-drag, middle drag", "Pan"],
  ["Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"],
  ["Ctrl+S", "Save"],
  ["A / D", "Previous / next image (saves first)"],
  ["Shift+D", "Next suggested image: the most uncertain unlabeled one (saves first)"],
  ["Esc", "Cancel the current shape, clear the selection"],
  ["?", "This help"],
];

export function helpOverlay(onClose: () => void): HTMLElement {
  const rows = SHORTCUTS.map(([k, v]) => h("tr", {}, h("td", {}, h("kbd", {}, k)), h("td", {}, v)));
  const close = h("button", { type: "button", className: "lbl-btn" }, "Close");
  close.addEventListener("click", onClose);
  const overlay = h(
    "div",
    { className: "lbl-help", role: "dialog", "aria-label": "Keyboard shortcuts" },
    h("div", { className: "lbl-help-box" }, h("h2", {}, "Keyboard shortcuts"), h("table", {}, ...rows), close),
  );
  overlay.addEventListener("click", (e) => {
    if (e.target === overlay) onClose();
  });
  return overlay;
}
