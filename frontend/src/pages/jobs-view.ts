/** What the jobs panel (jobs.ts) decides apart from the DOM: its page size and how the pager reads. */
export const JOBS_PANEL_PAGE_SIZE = 20;

export function pageCount(count: number, pageSize: number): number {
  return Math.max(1, Math.ceil(count / pageSize));
}

export function pageLabel(page: number, count: number, pageSize: number): string {
  return `Page ${page} of ${pageCount(count, pageSize)} · ${count} job${count === 1 ? "" : "s"}`;
}
