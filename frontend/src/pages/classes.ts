/**
 * The label-class editor: add a class, edit one in its row (name, colour, kind, hotkey, order),
 * delete one. The server refuses duplicate names, a hotkey used twice and names an export
 * cannot carry; its message shows in the row and nothing changes. Deleting a class that
 * annotations use asks first, saying how many go with it.
 */
import { ApiError } from "../api";
import type { LabelClassIn, LabelClassPatch } from "./team-api";
import { TeamApi, errorText, fieldValue, refreshRegion, say } from "./team-api";

type Kind = NonNullable<LabelClassIn["kind"]>;

function classFields(scope: Element): LabelClassPatch {
  return {
    name: fieldValue(scope, "name"),
    color: fieldValue(scope, "color"),
    kind: fieldValue(scope, "kind") as Kind,
    hotkey: fieldValue(scope, "hotkey"),
  };
}

export function mountClasses(root: HTMLElement, api: TeamApi, projectId: number): void {
  const refresh = (): Promise<void> => refreshRegion("[data-classes]");
  const create = root.querySelector<HTMLFormElement>('form[data-action="create-class"]');
  create?.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = classFields(create) as LabelClassIn;
    api.createClass(projectId, body).then(
      (made) => {
        say(create, `Class ${made.name} added`);
        create.reset();
        return refresh();
      },
      (err: unknown) => say(create, errorText(err), true),
    );
  });

  // Delegated: the table is swapped after each change.
  root.addEventListener("click", (event) => {
    const button = (event.target as Element).closest("button");
    const row = button?.closest<HTMLTableRowElement>("tr[data-class-id]");
    if (!button || !row) return;
    const classId = Number(row.dataset.classId);
    if (button.hasAttribute("data-save")) {
      const patch = { ...classFields(row), order: Number(fieldValue(row, "order")) };
      api.updateClass(projectId, classId, patch).then(
        () => say(row, "saved"),
        (err: unknown) => say(row, errorText(err), true),
      );
    } else if (button.hasAttribute("data-delete")) {
      void deleteClass(api, projectId, classId, row).then(refresh);
    }
  });
}

async function deleteClass(api: TeamApi, projectId: number, classId: number, row: HTMLElement): Promise<void> {
  try {
    await api.deleteClass(projectId, classId, false);
  } catch (err) {
    // 409: annotations use it; the message says how many. Only an explicit yes deletes them.
    if (!(err instanceof ApiError) || err.status !== 409) {
      say(row, errorText(err), true);
      throw err;
    }
    if (!window.confirm(`${err.message}?`)) {
      say(row, "kept");
      throw err;
    }
    await api.deleteClass(projectId, classId, true);
  }
}
