/** The members page: owners invite by user name with a role (the invitation is shown to hand
 * over), change a member's role in place, remove a member. The server keeps the last owner. */
import { TeamApi, errorText, fieldValue, refreshRegion, say } from "./team-api";

export function mountMembers(root: HTMLElement, api: TeamApi, projectId: number): void {
  const invite = root.querySelector<HTMLFormElement>('form[data-action="invite"]');
  invite?.addEventListener("submit", (event) => {
    event.preventDefault();
    const username = fieldValue(invite, "username").trim();
    api.setMember(projectId, username, fieldValue(invite, "role")).then(
      (answer) => {
        const box = invite.querySelector<HTMLTextAreaElement>("[data-invitation]");
        if ("token" in answer) {
          say(invite, `Invitation for ${answer.username} as ${answer.role}: give them this; they paste it under "Join a project"`);
          if (box) {
            box.hidden = false;
            box.value = answer.token;
          }
        } else {
          say(invite, `${answer.username} is now ${answer.role}`);
          void refreshRegion("[data-members]");
        }
      },
      (err: unknown) => say(invite, errorText(err), true),
    );
  });

  root.addEventListener("change", (event) => {
    const select = event.target as HTMLSelectElement;
    const row = select.closest<HTMLTableRowElement>("tr[data-username]");
    if (!row || select.name !== "role") return;
    api.setMember(projectId, row.dataset.username ?? "", select.value).then(
      () => say(row, "saved"),
      (err: unknown) => say(row, errorText(err), true),
    );
  });
  root.addEventListener("click", (event) => {
    const button = (event.target as Element).closest("button[data-remove]");
    const row = button?.closest<HTMLTableRowElement>("tr[data-username]");
    if (!row) return;
    const username = row.dataset.username ?? "";
    if (!window.confirm(`Remove ${username} from the project?`)) return;
    api.removeMember(projectId, username).then(
      () => row.remove(),
      (err: unknown) => say(row, errorText(err), true),
    );
  });
}
