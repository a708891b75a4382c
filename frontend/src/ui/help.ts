/**
 * The `?` overlay: lists the keymap (keymap.ts), the same table that the key handler and the
 * toolbar read, so what it says is what the keys do.
 */
import { KEYMAP, OTHER_INPUTS, keysText } from "../keymap";
import { h } from "./dom";

/** The overlay's rows: [keys, what they do], commands without a shortcut left out. */
export function helpRows(): Array<readonly [string, string]> {
  const commands = KEYMAP.filter((b) => b.chords.length > 0).map((b) => [keysText(b), b.help] as const);
  return [...OTHER_INPUTS, ...commands];
}

/** Opens and closes the overlay inside `host`. */
export class HelpOverlay {
  private el: HTMLElement | null = null;

  constructor(private readonly host: HTMLElement) {}

  toggle(): void {
    if (this.el) this.close();
    else this.open();
  }

  open(): void {
    if (this.el) return;
    const rows = helpRows().map(([k, v]) => h("tr", {}, h("td", {}, h("kbd", {}, k)), h("td", {}, v)));
    const close = h("button", { type: "button", className: "lbl-btn" }, "Close");
    close.addEventListener("click", () => this.close());
    const overlay = h(
      "div",
      { className: "lbl-help", role: "dialog", "aria-label": "Keyboard shortcuts" },
      h("div", { className: "lbl-help-box" }, h("h2", {}, "Keyboard shortcuts"), h("table", {}, ...rows), close),
    );
    overlay.addEventListener("click", (e) => {
      if (e.target === overlay) this.close();
    });
    this.el = overlay;
    this.host.append(overlay);
  }

  close(): void {
    this.el?.remove();
    this.el = null;
  }
}
