/**
 * The team pages' calls to the REST API (projects, classes, members, bulk image actions, review),
 * typed by the generated schema and sent through the shared client (same credentials, same
 * error shape: a refused request throws ApiError with the server's message).
 */
import { HttpApi } from "../api";
import type { components } from "../generated/api-schema";

type Schemas = components["schemas"];
export type ProjectOut = Schemas["ProjectOut"];
export type ProjectPatch = Schemas["PatchedProjectPatchIn"];
export type LabelClassIn = Schemas["LabelClassIn"];
export type LabelClassPatch = Schemas["PatchedLabelClassPatchIn"];
export type LabelClassOut = Schemas["LabelClassOut"];
export type MemberOut = Schemas["MemberOut"];
export type InvitationOut = Schemas["InvitationOut"];
export type BulkRequest = Schemas["ImageBulkIn"];
export type ImageOut = Schemas["ImageOut"];
export type ImageDetail = Schemas["ImageDetailOut"];
export type ReviewRequest = Schemas["ImageReviewIn"];

export class TeamApi {
  private readonly http: HttpApi;

  constructor(root: string) {
    this.http = new HttpApi(root);
  }

  createProject(name: string, description: string): Promise<ProjectOut> {
    return this.http.send("POST", "projects/", { name, description });
  }

  updateProject(projectId: number, patch: ProjectPatch): Promise<ProjectOut> {
    return this.http.send("PATCH", `projects/${projectId}/`, patch);
  }

  createClass(projectId: number, body: LabelClassIn): Promise<LabelClassOut> {
    return this.http.send("POST", `projects/${projectId}/label-classes/`, body);
  }

  updateClass(projectId: number, classId: number, patch: LabelClassPatch): Promise<LabelClassOut> {
    return this.http.send("PATCH", `projects/${projectId}/label-classes/${classId}/`, patch);
  }

  deleteClass(projectId: number, classId: number, confirm: boolean): Promise<{ annotations_deleted: number }> {
    return this.http.send("DELETE", `projects/${projectId}/label-classes/${classId}/${confirm ? "?confirm=true" : ""}`);
  }

  /** A member's role changes at once (MemberOut); anyone else gets an invitation (InvitationOut). */
  setMember(projectId: number, username: string, role: string): Promise<MemberOut | InvitationOut> {
    return this.http.send("POST", `projects/${projectId}/members/`, { username, role });
  }

  removeMember(projectId: number, username: string): Promise<void> {
    return this.http.send("DELETE", `projects/${projectId}/members/${encodeURIComponent(username)}/`);
  }

  acceptInvitation(token: string): Promise<MemberOut> {
    return this.http.send("POST", "invitations/accept/", { token });
  }

  bulk(projectId: number, body: BulkRequest): Promise<{ changed: number }> {
    return this.http.send("POST", `projects/${projectId}/images/bulk/`, body);
  }

  image(imageId: number): Promise<ImageDetail> {
    return this.http.send("GET", `images/${imageId}/`);
  }

  review(imageId: number, body: ReviewRequest): Promise<ImageOut> {
    return this.http.send("POST", `images/${imageId}/review/`, body);
  }

  job(jobId: number): Promise<Schemas["JobOut"]> {
    return this.http.send("GET", `jobs/${jobId}/`);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Writes a line into a form's (or row's) <output>, red when it is an error. */
export function say(scope: Element, message: string, isError = false): void {
  const out = scope.querySelector("output");
  if (!out) return;
  out.textContent = message;
  out.classList.toggle("error", isError);
}

export function fieldValue(scope: Element, name: string): string {
  const el = scope.querySelector<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(`[name="${name}"]`);
  if (!el) throw new Error(`no ${name} field`);
  return el.value;
}

export function fieldChecked(scope: Element, name: string): boolean {
  const el = scope.querySelector<HTMLInputElement>(`input[name="${name}"]`);
  return el?.checked ?? false;
}

/** Re-reads the current page and swaps one region in place (no reload: scroll, filters and the
 * job table stay as they are). */
export async function refreshRegion(selector: string): Promise<void> {
  const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  // Without the page's nonce'd <style>: the fresh page's nonce is not this page's, so the CSP would
  // refuse it even in a parsed document (the region needs none: its colours come from class names).
  const html = (await response.text()).replace(/<style[\s\S]*?<\/style>/gi, "");
  const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(selector);
  const current = document.querySelector(selector);
  if (!fresh || !current) return;
  // A refresh that lands while someone is ticking tiles keeps their ticks (bulk actions clear theirs first).
  const ticked = new Set(Array.from(current.querySelectorAll<HTMLInputElement>("input.pick:checked")).map((c) => c.value));
  const next = document.importNode(fresh, true);
  for (const box of next.querySelectorAll<HTMLInputElement>("input.pick")) box.checked = ticked.has(box.value);
  current.replaceWith(next);
  next.dispatchEvent(new Event("change", { bubbles: true }));
}
