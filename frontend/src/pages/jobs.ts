/**
 * Entry of the jobs panel (annotations/templates/annotations/jobs.html): every job of the
 * project, a page at a time, newest first, with live progress bars (polled while a job on the
 * page is queued or running), the error message of a failed one, cancel and the export's
 * download. How a row reads and when to poll are project-actions.ts's, shared with the project page.
 */
import { HttpApi } from "../api";
import type { JobDto, JobPageDto } from "../api";
import { realTimer } from "../timer";
import { h } from "../ui/dom";
import { JOBS_PANEL_PAGE_SIZE, pageCount, pageLabel } from "./jobs-view";
import { JobPoller, jobRowView } from "./project-actions";

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "—";
}

function mount(): void {
  const root = document.querySelector<HTMLElement>("[data-jobs-panel]");
  if (!root) return;
  const projectId = Number(root.dataset.projectId);
  const api = new HttpApi(root.dataset.apiRoot ?? "/api/");
  const body = root.querySelector<HTMLElement>("[data-jobs] tbody");
  const summary = root.querySelector<HTMLElement>("[data-jobs-summary]");
  const label = root.querySelector<HTMLElement>("[data-page-label]");
  const prev = root.querySelector<HTMLButtonElement>('[data-page="prev"]');
  const next = root.querySelector<HTMLButtonElement>('[data-page="next"]');
  let page = Number(new URLSearchParams(window.location.search).get("page") ?? "1") || 1;
  let last: JobPageDto | null = null;

  const row = (job: JobDto): HTMLTableRowElement => {
    const view = jobRowView(job);
    const percent = view.progressMax ? Math.round((100 * view.progressValue) / view.progressMax) : 0;
    const bar = h("progress", { max: view.progressMax, value: view.progressValue, "aria-label": `job ${job.id} progress` });
    const actions = h("span", {});
    if (view.downloadUrl) actions.append(h("a", { href: view.downloadUrl, "data-download": true }, "Download"));
    if (view.cancellable) {
      const cancel = h("button", { type: "button", "data-cancel": true }, "Cancel");
      cancel.addEventListener("click", () => {
        cancel.disabled = true;
        const refresh = (): void => void poller.refresh();
        void api.cancelJob(job.id).then(refresh, (err: unknown) => {
          if (summary) summary.textContent = err instanceof Error ? err.message : String(err);
          refresh();
        });
      });
      actions.append(cancel);
    }
    const message = h("td", { className: job.status === "failed" ? "error" : "", "data-message": true }, view.message);
    return h(
      "tr",
      { "data-job-id": job.id, "data-status": job.status },
      h("td", {}, String(job.id)),
      h("td", {}, job.kind),
      h("td", {}, job.status),
      h("td", { className: "progress" }, bar, ` ${view.count} (${percent} %)`),
      h("td", {}, when(job.started_at)),
      h("td", {}, when(job.finished_at)),
      message,
      h("td", {}, actions),
    );
  };

  const show = (jobs: JobDto[]): void => {
    body?.replaceChildren(...jobs.map(row));
    const count = last?.count ?? jobs.length;
    const running = jobs.filter((j) => j.status === "queued" || j.status === "running").length;
    if (summary) summary.textContent = count === 0 ? "No jobs yet." : running ? `${running} job(s) on this page still moving; updating live.` : "Nothing running on this page.";
    if (label) label.textContent = pageLabel(page, count, JOBS_PANEL_PAGE_SIZE);
    if (prev) prev.disabled = page <= 1;
    if (next) next.disabled = page >= pageCount(count, JOBS_PANEL_PAGE_SIZE);
  };

  const poller = new JobPoller(
    async () => {
      last = await api.jobsPage(projectId, page, JOBS_PANEL_PAGE_SIZE);
      return last;
    },
    show,
    realTimer,
  );
  const go = (to: number): void => {
    page = Math.max(1, to);
    const url = new URL(window.location.href);
    url.searchParams.set("page", String(page));
    window.history.replaceState(null, "", url);
    void poller.refresh();
  };
  prev?.addEventListener("click", () => go(page - 1));
  next?.addEventListener("click", () => go(page + 1));
  void poller.refresh();
}

mount();
