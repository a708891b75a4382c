/** The project list's forms (create a project, join by invitation) and a project's settings page
 * (edit, allow unassigned images, archive / unarchive). */
import { TeamApi, errorText, fieldChecked, fieldValue, say } from "./team-api";

function onSubmit(root: HTMLElement, action: string, run: (form: HTMLFormElement) => Promise<void>): void {
  const form = root.querySelector<HTMLFormElement>(`form[data-action="${action}"]`);
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    say(form, "…");
    run(form)
      .catch((err: unknown) => say(form, errorText(err), true))
      .finally(() => {
        if (button) button.disabled = false;
      });
  });
}

export function mountProjects(root: HTMLElement, api: TeamApi): void {
  onSubmit(root, "create-project", async (form) => {
    const project = await api.createProject(fieldValue(form, "name"), fieldValue(form, "description"));
    say(form, `Project ${project.name} created`);
    window.location.assign(`/projects/${project.id}/classes/`);
  });
  onSubmit(root, "accept-invitation", async (form) => {
    const member = await api.acceptInvitation(fieldValue(form, "token").trim());
    say(form, `You joined as ${member.role}`);
    window.location.reload();
  });
}

export function mountSettings(root: HTMLElement, api: TeamApi, projectId: number): void {
  onSubmit(root, "project-settings", async (form) => {
    const project = await api.updateProject(projectId, {
      name: fieldValue(form, "name"),
      description: fieldValue(form, "description"),
      annotators_see_unassigned: fieldChecked(form, "annotators_see_unassigned"),
    });
    say(form, `Saved ${project.name}`);
  });
  onSubmit(root, "archive", async (form) => {
    const archived = form.dataset.archived === "true";
    await api.updateProject(projectId, { archived: !archived });
    window.location.assign(archived ? `/projects/${projectId}/` : "/");
  });
}
