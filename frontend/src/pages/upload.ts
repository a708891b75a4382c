/**
 * The images grid's upload: drop files or a zip on the "Add images" card (or choose them), watch
 * the bytes go up (XHR upload progress; fetch cannot report it) and then the thumbnail Job's
 * progress, and the grid refreshes in place when the images are there. No page reload.
 */
import type { ImportResultDto, JobDto } from "../api";
import { ApiError } from "../api";
import { uploadBody, uploadSummary } from "./project-actions";
import { TeamApi, errorText, refreshRegion, say } from "./team-api";

const POLL_MS = 700;

export function uploadProgressText(loaded: number, total: number): string {
  const mb = (n: number): string => (n / 1_048_576).toFixed(1);
  return total > 0 ? `uploading ${Math.round((100 * loaded) / total)}% (${mb(loaded)} of ${mb(total)} MB)` : "uploading…";
}

function csrfToken(): string {
  const hit = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith("csrftoken="));
  return hit ? decodeURIComponent(hit.slice("csrftoken=".length)) : "";
}

/** POST the files with upload progress; rejects with the server's message (the API's error shape). */
export function sendWithProgress(url: string, body: FormData, onProgress: (loaded: number, total: number) => void): Promise<ImportResultDto> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0));
    xhr.addEventListener("load", () => {
      let payload: { message?: string } & Partial<ImportResultDto> = {};
      try {
        payload = JSON.parse(xhr.responseText) as typeof payload;
      } catch {
        // not JSON: the generic message below
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(payload as ImportResultDto);
      else reject(new ApiError(xhr.status, payload.message ?? `upload failed with HTTP ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "Network error: the upload did not reach the server")));
    xhr.send(body);
  });
}

async function followJob(api: TeamApi, jobId: number, bar: HTMLProgressElement, form: HTMLFormElement, prefix: string): Promise<void> {
  for (;;) {
    const job: JobDto = (await api.job(jobId)) as JobDto;
    bar.max = job.total || 1;
    bar.value = job.done;
    say(form, `${prefix} Thumbnails ${job.done}/${job.total}`);
    if (job.status !== "queued" && job.status !== "running") return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export function mountUpload(form: HTMLFormElement, api: TeamApi, projectId: number, apiRoot: string, onDone: () => void): void {
  const input = form.querySelector<HTMLInputElement>('input[type="file"]');
  const bar = form.querySelector<HTMLProgressElement>("[data-upload-progress]");
  const button = form.querySelector("button");
  const send = async (files: File[]): Promise<void> => {
    if (files.length === 0) return;
    if (button) button.disabled = true;
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
    }
    try {
      const result = await sendWithProgress(`${apiRoot}projects/${projectId}/images/`, uploadBody(files), (loaded, total) => {
        if (bar) {
          bar.max = total || 1;
          bar.value = loaded;
        }
        say(form, uploadProgressText(loaded, total));
      });
      const summary = uploadSummary(result);
      say(form, summary);
      await refreshRegion("[data-grid-region]");
      if (result.thumbnail_job && bar) {
        await followJob(api, result.thumbnail_job, bar, form, summary);
        await refreshRegion("[data-grid-region]");
        say(form, `${summary} Thumbnails ready.`);
      }
      onDone();
    } catch (err) {
      say(form, errorText(err), true);
    } finally {
      if (button) button.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void send(Array.from(input?.files ?? []));
  });
  form.addEventListener("dragover", (event) => {
    event.preventDefault();
    form.classList.add("over");
  });
  form.addEventListener("dragleave", () => form.classList.remove("over"));
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    form.classList.remove("over");
    void send(Array.from(event.dataTransfer?.files ?? []));
  });
}
