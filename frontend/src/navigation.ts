/**
 * Moving between images: previous, next, or the suggested one (the most uncertain unlabeled
 * image). The editor leaves only once the server holds the work (autosave on navigation), and
 * the browser asks before a tab with unsaved work closes.
 */
import type { ImageDto } from "./api";

export type Step = "prev" | "next" | "suggested";

export function targetOf(image: ImageDto, step: Step): number | null {
  return step === "prev" ? image.prev_id : step === "next" ? image.next_id : image.next_suggested_id;
}

const NOWHERE: { [S in Step]: string } = {
  prev: "This is the first image.",
  next: "This is the last image.",
  suggested: "No unlabeled image is left.",
};

export interface NavigationDeps {
  /** Resolves true when the server holds the document. */
  save(): Promise<boolean>;
  editUrl(imageId: number): string;
  go(url: string): void;
  notify(message: string): void;
}

export async function navigate(image: ImageDto, step: Step, deps: NavigationDeps): Promise<void> {
  const id = targetOf(image, step);
  if (id === null) {
    deps.notify(NOWHERE[step]);
    return;
  }
  if (!(await deps.save())) return;
  deps.go(deps.editUrl(id));
}

/** The browser's "leave this page?" question while `unsaved()` says work would be lost. */
export function warnBeforeLeaving(unsaved: () => boolean): void {
  window.addEventListener("beforeunload", (e) => {
    if (!unsaved()) return;
    e.preventDefault();
    e.returnValue = "";
  });
}
