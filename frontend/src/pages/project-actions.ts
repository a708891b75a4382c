/**
 * What the project page's actions decide, apart from the DOM: the request each form sends,
 * the line it answers with, how a job row reads, and when the job list polls again.
 */
import type { ExportRequestDto, ImportResultDto, JobDto, JobPageDto, PrelabelRequestDto, TrainRequestDto } from "../api";
import type { Timer } from "../timer";

/** Poll this often while a job is queued or running; after a failed poll, wait longer. */
export const ACTIVE_POLL_MS = 1500;
export const RETRY_POLL_MS = 5000;
export const JOBS_PAGE_SIZE = 15;

/** Image files go as `files`, a zip as the one `archive` (the server unpacks it). */
export function uploadBody(files: Iterable<File>): FormData {
  const data = new FormData();
  for (const file of files) data.append(file.name.toLowerCase().endsWith(".zip") ? "archive" : "files", file);
  return data;
}

export function uploadSummary(result: ImportResultDto): string {
  return `${result.created.length} image(s) added, ${result.duplicates.length} duplicate(s) skipped.`;
}

export function prelabelBody(fields: { modelVersion: string; images: string; scoreThreshold: string }): PrelabelRequestDto {
  return { model_version: Number(fields.modelVersion), images: fields.images, score_threshold: Number(fields.scoreThreshold) };
}

/** The network select offers presets (annotations/train_presets.py) and full architectures; each
 * option says which it is, and the value goes in that request field. */
export type NetworkKind = "preset" | "arch";

export function trainBody(fields: { network: string; kind: NetworkKind; minutes: string }): TrainRequestDto {
  // The select offers the server's choices; anything else is refused by the server with a message.
  const minutes = Number(fields.minutes);
  if (fields.kind === "preset") return { preset: fields.network as TrainRequestDto["preset"], minutes };
  return { arch: fields.network as TrainRequestDto["arch"], minutes };
}

export function networkKind(value: string | undefined): NetworkKind {
  return value === "preset" ? "preset" : "arch";
}

export function exportBody(fields: { format: string; withImages: boolean; approvedOnly: boolean }): ExportRequestDto {
  return {
    format: fields.format as ExportRequestDto["format"],
    with_images: fields.withImages,
    only_status: fields.approvedOnly ? ["done", "reviewed"] : [],
  };
}

export function queuedSummary(what: string, job: JobDto): string {
  return `${what} job ${job.id} queued`;
}

export function isActive(job: JobDto): boolean {
  return job.status === "queued" || job.status === "running";
}

/** How a job's row reads: progress bar, count, and which actions it offers. */
export interface JobRowView {
  progressMax: number;
  progressValue: number;
  count: string;
  message: string;
  downloadUrl: string | null;
  cancellable: boolean;
}

export function jobRowView(job: JobDto): JobRowView {
  return {
    progressMax: job.total || 1,
    // A job without a known total shows full once it succeeded.
    progressValue: job.total ? job.done : job.status === "succeeded" ? 1 : 0,
    count: `${job.done}/${job.total}`,
    message: job.message || "",
    downloadUrl: job.download_url,
    cancellable: isActive(job),
  };
}

/**
 * Keeps the job list fresh: each refresh shows the first page, then polls again only while
 * something still moves (or, after a failed request, a while later).
 */
export class JobPoller {
  private cancelNext: (() => void) | null = null;

  constructor(
    private readonly load: () => Promise<JobPageDto>,
    private readonly show: (jobs: JobDto[]) => void,
    private readonly timer: Required<Pick<Timer, "after">>,
  ) {}

  async refresh(): Promise<void> {
    this.stop();
    let page: JobPageDto;
    try {
      page = await this.load();
    } catch {
      this.schedule(RETRY_POLL_MS);
      return;
    }
    this.show(page.results);
    if (page.results.some(isActive)) this.schedule(ACTIVE_POLL_MS);
  }

  stop(): void {
    this.cancelNext?.();
    this.cancelNext = null;
  }

  private schedule(ms: number): void {
    this.stop();
    this.cancelNext = this.timer.after(ms, () => {
      this.cancelNext = null;
      void this.refresh();
    });
  }
}
