/**
 * The images grid's selection and bulk actions: tick tiles (or the whole page), then assign them,
 * set their status or delete them (owners) through the bulk API. The server decides who may do
 * what; a refusal shows its message and changes nothing. The grid refreshes in place.
 */
import type { BulkRequest } from "./team-api";
import { TeamApi, errorText, refreshRegion, say } from "./team-api";

type Action = BulkRequest["action"];
type Status = NonNullable<BulkRequest["status"]>;

export function bulkRequest(action: Action, images: number[], fields: { assignee: string; status: string }): BulkRequest {
  if (action === "assign") return { action, images, assignee: fields.assignee || null };
  if (action === "status") return { action, images, status: fields.status as Status };
  return { action, images };
}

function picked(): number[] {
  return Array.from(document.querySelectorAll<HTMLInputElement>("[data-grid] input.pick:checked")).map((c) => Number(c.value));
}

function showCount(): void {
  const count = document.querySelector("[data-selected-count]");
  const ids = picked();
  if (count) count.textContent = `${ids.length} selected`;
  for (const tile of document.querySelectorAll<HTMLElement>("[data-grid] .tile")) {
    tile.classList.toggle("picked", tile.querySelector<HTMLInputElement>("input.pick")?.checked ?? false);
  }
}

export function mountGrid(api: TeamApi, projectId: number): void {
  // Delegated on the document: the grid region is replaced after each change.
  document.addEventListener("change", (event) => {
    const target = event.target as HTMLInputElement;
    if (target.matches("[data-select-all]")) {
      for (const c of document.querySelectorAll<HTMLInputElement>("[data-grid] input.pick")) c.checked = target.checked;
    }
    if (target.matches("[data-select-all], [data-grid] input.pick, [data-grid-region]")) showCount();
  });
  document.addEventListener("click", (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>("[data-bulk] button[data-bulk-action]");
    const form = button?.closest<HTMLFormElement>("[data-bulk]");
    if (!button || !form) return;
    const action = button.dataset.bulkAction as Action;
    const images = picked();
    if (images.length === 0) {
      say(form, "select images first", true);
      return;
    }
    if (action === "delete" && !window.confirm(`Delete ${images.length} image(s) and their annotations?`)) return;
    const value = (name: string): string => form.querySelector<HTMLSelectElement>(`select[name="${name}"]`)?.value ?? "";
    api.bulk(projectId, bulkRequest(action, images, { assignee: value("assignee"), status: value("status") })).then(
      async (answer) => {
        for (const box of document.querySelectorAll<HTMLInputElement>("[data-grid] input.pick:checked")) box.checked = false;
        await refreshRegion("[data-grid-region]");
        const fresh = document.querySelector<HTMLFormElement>("[data-bulk]");
        if (fresh) say(fresh, `${answer.changed} image(s) ${action === "delete" ? "deleted" : "changed"}`);
      },
      (err: unknown) => say(form, errorText(err), true),
    );
  });
}
