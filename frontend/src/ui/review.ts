/**
 * The review step in the editor: a rejected image shows the reviewer's comment to whoever fixes
 * it; a reviewer (or owner) looking at a done image gets Accept and Reject (with a comment). It
 * reads the image itself and calls the review API; the editor only mounts it. The server decides
 * who may review and refuses a rejection without a comment (its message is shown).
 */
import type { ImageDto, ImageListItemDto } from "../api";
import { HttpApi } from "../api";
import { h } from "./dom";

const REVIEWERS = new Set(["reviewer", "owner"]);
type Reviewed = ImageListItemDto & { review_comment?: string; assignee?: string | null };

const PANEL_STYLE =
  "position:fixed;left:1rem;bottom:1rem;z-index:50;max-width:28rem;background:#fff;color:#1d2330;" +
  "border-radius:6px;box-shadow:0 2px 10px #0005;padding:.6rem .8rem;font:14px system-ui,sans-serif";

/** What the panel shows for an image and the viewer's role. */
export function reviewView(image: { status: string; review_comment?: string }, role: string): { comment: string | null; canReview: boolean } {
  const comment = image.review_comment && image.status === "in_progress" ? image.review_comment : null;
  return { comment, canReview: REVIEWERS.has(role) && image.status === "done" };
}

export async function mountReview(root: HTMLElement, api: HttpApi, imageId: number, role: string): Promise<void> {
  const image = (await api.image(imageId)) as ImageDto & Reviewed;
  const panel = h("aside", { className: "lbl-review", "data-review": true, style: PANEL_STYLE });
  const out = h("output", { "data-review-output": true });
  const render = (img: Reviewed): void => {
    const view = reviewView(img, role);
    panel.replaceChildren();
    panel.dataset.status = img.status;
    if (view.comment) {
      panel.append(h("strong", {}, "Sent back by the reviewer: "), h("span", { "data-review-comment": true }, view.comment));
    }
    if (view.canReview) {
      const comment = h("textarea", { name: "review-comment", rows: 2, placeholder: "what to fix (needed to reject)", style: "width:100%;box-sizing:border-box" });
      const accept = h("button", { type: "button", "data-review-action": "accept" }, "Accept ✓");
      const reject = h("button", { type: "button", "data-review-action": "reject" }, "Reject ↩");
      const decide = (decision: "accept" | "reject"): void => {
        api.send<Reviewed>("POST", `images/${imageId}/review/`, { decision, comment: comment.value }).then(
          (answer) => {
            render(answer);
            panel.append(out);
            out.textContent = decision === "accept" ? "Accepted: the image is reviewed." : `Sent back${answer.assignee ? ` to ${answer.assignee}` : ""}.`;
          },
          (err: unknown) => {
            out.textContent = err instanceof Error ? err.message : String(err);
            out.style.color = "#b00020";
          },
        );
      };
      accept.addEventListener("click", () => decide("accept"));
      reject.addEventListener("click", () => decide("reject"));
      panel.append(h("div", {}, h("strong", {}, "Review")), comment, h("div", { style: "display:flex;gap:.5rem;margin-top:.3rem" }, accept, reject), out);
    }
    panel.hidden = panel.childElementCount === 0;
  };
  render(image);
  root.append(panel);
}
