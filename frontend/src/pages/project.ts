/**
 * Entry of the project page (annotations/templates/annotations/project.html): wires its forms
 * (upload images, pre-label, train, export) to the REST API through the shared client, and
 * keeps the job table live (progress, cancel, download). What the forms send and how a job row
 * reads is decided in project-actions.ts; this module only reads and writes the page.
 */
import { HttpApi } from "../api";
import type { JobDto } from "../api";
import { realTimer } from "../timer";
import { h } from "../ui/dom";
import {
  JOBS_PAGE_SIZE,
  JobPoller,
  exportBody,
  jobRowView,
  networkKind,
  prelabelBody,
  queuedSummary,
  trainBody,
} from "./project-actions";
import { mountGrid } from "./grid";
import { TeamApi } from "./team-api";
import { mountUpload } from "./upload";

function field<T extends HTMLElement>(form: HTMLFormElement, name: string, kind: new () => T): T {
  const el = form.elements.namedItem(name);
  if (!(el instanceof kind)) throw new Error(`the ${form.dataset.action} form has no ${name} field`);
  return el;
}

const input = (form: HTMLFormElement, name: string): HTMLInputElement => field(form, name, HTMLInputElement);
const select = (form: HTMLFormElement, name: string): HTMLSelectElement => field(form, name, HTMLSelectElement);

function say(form: HTMLFormElement, message: string, isError = false): void {
  const out = form.querySelector("output");
  if (!out) return;
  out.textContent = message;
  out.classList.toggle("error", isError);
}

/** The train form says what the chosen network costs (the option carries its cost line). */
function showTrainCost(root: HTMLElement): void {
  const form = root.querySelector<HTMLFormElement>('form[data-action="train"]');
  const cost = form?.querySelector<HTMLElement>("[data-train-cost]");
  if (!form || !cost) return;
  const network = select(form, "network");
  const show = (): void => {
    cost.textContent = network.selectedOptions[0]?.dataset.cost ?? "";
  };
  network.addEventListener("change", show);
  show();
}

function mount(): void {
  const root = document.querySelector<HTMLElement>("[data-project-actions]");
  if (!root) return;
  const projectId = Number(root.dataset.projectId);
  const api = new HttpApi(root.dataset.apiRoot ?? "/api/");
  const table = document.querySelector<HTMLElement>("[data-jobs] tbody");

  const row = (job: JobDto): HTMLTableRowElement => {
    const view = jobRowView(job);
    const bar = h("progress", { max: view.progressMax, value: view.progressValue });
    const actions = h("span", {});
    if (view.downloadUrl) actions.append(h("a", { href: view.downloadUrl, "data-download": true }, "Download"));
    if (view.cancellable) {
      const cancel = h("button", { type: "button" }, "Cancel");
      const refresh = (): void => void poller.refresh();
      cancel.addEventListener("click", () => void api.cancelJob(job.id).then(refresh, refresh));
      actions.append(cancel);
    }
    const cells = [String(job.id), job.kind, job.status, h("span", {}, bar, ` ${view.count}`), view.message, actions];
    return h("tr", { "data-job-id": job.id, "data-status": job.status }, ...cells.map((c) => h("td", {}, c)));
  };

  const poller = new JobPoller(
    () => api.jobs(projectId, JOBS_PAGE_SIZE),
    (jobs) => table?.replaceChildren(...jobs.map(row)),
    realTimer,
  );

  const wire = (name: string, send: (form: HTMLFormElement) => Promise<string>): void => {
    const form = root.querySelector<HTMLFormElement>(`form[data-action="${name}"]`);
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      if (button) button.disabled = true;
      say(form, "…");
      send(form)
        .then((message) => {
          say(form, message);
          void poller.refresh();
        })
        .catch((err: unknown) => say(form, err instanceof Error ? err.message : String(err), true))
        .finally(() => {
          if (button) button.disabled = false;
        });
    });
  };

  const team = new TeamApi(root.dataset.apiRoot ?? "/api/");
  const upload = root.querySelector<HTMLFormElement>('form[data-action="upload"]');
  if (upload) mountUpload(upload, team, projectId, root.dataset.apiRoot ?? "/api/", () => void poller.refresh());
  mountGrid(team, projectId);
  wire("prelabel", async (form) => {
    const body = prelabelBody({ modelVersion: select(form, "model_version").value, images: select(form, "images").value, scoreThreshold: input(form, "score_threshold").value });
    return queuedSummary("pre-label", await api.prelabel(projectId, body));
  });
  wire("train", async (form) => {
    const network = select(form, "network");
    const body = trainBody({ network: network.value, kind: networkKind(network.selectedOptions[0]?.dataset.kind), minutes: input(form, "minutes").value });
    return queuedSummary("train", await api.train(projectId, body));
  });
  showTrainCost(root);
  wire("export", async (form) => {
    const body = exportBody({ format: select(form, "format").value, withImages: input(form, "with_images").checked, approvedOnly: input(form, "approved_only").checked });
    return queuedSummary("export", await api.exportDataset(projectId, body));
  });

  void poller.refresh();
}

mount();
