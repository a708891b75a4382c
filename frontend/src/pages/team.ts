/**
 * Entry of the team pages: the project list (create a project, join one by invitation), a
 * project's label classes, its members and its settings. Each page's template says which it is
 * (data-team-page); the page modules talk to the API through team-api.ts and show the server's
 * message when it refuses.
 */
import { mountClasses } from "./classes";
import { mountMembers } from "./members";
import { mountProjects, mountSettings } from "./projects";
import { TeamApi } from "./team-api";

function mount(): void {
  const root = document.querySelector<HTMLElement>("[data-team-page]");
  if (!root) return;
  const api = new TeamApi(root.dataset.apiRoot ?? "/api/");
  const projectId = Number(root.dataset.projectId);
  const pages: Record<string, () => void> = {
    projects: () => mountProjects(root, api),
    classes: () => mountClasses(root, api, projectId),
    members: () => mountMembers(root, api, projectId),
    settings: () => mountSettings(root, api, projectId),
  };
  pages[root.dataset.teamPage ?? ""]?.();
  root.dataset.ready = "true";
}

mount();
