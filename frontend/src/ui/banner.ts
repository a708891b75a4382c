/**
 * Messages to the person: the toast (a line that fades), the conflict banner (someone else
 * saved; reload theirs or keep mine), and the save status line.
 */
import type { SaveState } from "../save";
import { h } from "./dom";

export type Level = "info" | "error";

export class Toast {
  private timer = 0;

  constructor(private readonly el: HTMLElement) {}

  show(message: string, level: Level = "info"): void {
    this.el.textContent = message;
    this.el.className = `lbl-toast is-shown${level === "error" ? " is-error" : ""}`;
    window.clearTimeout(this.timer);
    // Errors stay long enough to be read in full.
    this.timer = window.setTimeout(() => {
      this.el.className = "lbl-toast";
    }, level === "error" ? 6000 : 2500);
  }
}

export interface ConflictChoices {
  reloadTheirs(): void;
  keepMine(): void;
}

export class ConflictBanner {
  constructor(
    private readonly el: HTMLElement,
    private readonly choices: ConflictChoices,
  ) {}

  show(serverMessage: string): void {
    const reload = h("button", { type: "button", className: "lbl-btn", "data-action": "reload-theirs" }, "Reload their version");
    const keep = h("button", { type: "button", className: "lbl-btn lbl-primary", "data-action": "keep-mine" }, "Keep mine (overwrite)");
    reload.addEventListener("click", () => {
      if (window.confirm("Discard your unsaved changes and load the saved version?")) this.choices.reloadTheirs();
    });
    keep.addEventListener("click", () => this.choices.keepMine());
    this.el.replaceChildren(
      h("strong", {}, "Someone else saved this image while you were editing. "),
      h("span", {}, `Your work is still here and has not been saved. (${serverMessage})`),
      reload,
      keep,
    );
    this.el.hidden = false;
  }

  hide(): void {
    this.el.hidden = true;
  }
}

/** The status line for a save state. */
export function saveStateText(s: SaveState): string {
  switch (s.kind) {
    case "saved":
      return "All changes saved";
    case "dirty":
      return "Unsaved changes";
    case "saving":
      return "Saving…";
    case "retrying":
      return `Save failed (${s.message}); retry ${s.attempt} in ${Math.round(s.delayMs / 1000)} s`;
    case "conflict":
      return "Not saved: conflict";
    case "failed":
      return `Save failed: ${s.message}`;
  }
}
