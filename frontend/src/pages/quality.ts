/**
 * Entry of the quality page's owner form (annotations/templates/annotations/quality.html): marks
 * the project's ground-truth sample through the API and reloads the page, which is drawn on the
 * server; a refused sample (percent out of bounds, ground truth already labelled) says why.
 */
import { HttpApi } from "../api";

function mount(): void {
  const form = document.querySelector<HTMLFormElement>("[data-quality-mark]");
  if (!form) return;
  const api = new HttpApi(form.dataset.apiRoot ?? "/api/");
  const out = form.querySelector("output");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const percent = Number((form.elements.namedItem("percent") as HTMLInputElement).value);
    const seedText = (form.elements.namedItem("seed") as HTMLInputElement).value.trim();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    api
      .markGroundTruth(Number(form.dataset.projectId), percent, seedText === "" ? null : Number(seedText))
      .then((sample) => {
        if (out) out.textContent = `${sample.size} image(s) marked (seed ${sample.seed}).`;
        window.location.reload();
      })
      .catch((err: unknown) => {
        if (out) {
          out.textContent = err instanceof Error ? err.message : String(err);
          out.classList.add("error");
        }
      })
      .finally(() => {
        if (button) button.disabled = false;
      });
  });
}

mount();
