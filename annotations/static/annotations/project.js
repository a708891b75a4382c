// The project page's actions: upload images, pre-label, train, export, and live job progress.
// Talks to the REST API only (session cookie + CSRF header), like the editor.
(() => {
  "use strict";
  const root = document.querySelector("[data-project-actions]");
  if (!root) return;
  const projectId = root.dataset.projectId;
  const api = `/api/projects/${projectId}`;
  const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

  async function send(url, body) {
    const isForm = body instanceof FormData;
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: isForm ? { "X-CSRFToken": csrf() } : { "X-CSRFToken": csrf(), "Content-Type": "application/json" },
      body: isForm ? body : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({ message: response.statusText }));
    if (!response.ok) throw new Error(data.message || `HTTP ${response.status}`);
    return data;
  }

  function say(form, message, isError) {
    const out = form.querySelector("output");
    out.textContent = message;
    out.classList.toggle("error", Boolean(isError));
  }

  function wire(name, build, done) {
    const form = root.querySelector(`form[data-action="${name}"]`);
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      say(form, "…");
      try {
        const [url, body] = build(form);
        say(form, done(await send(url, body)));
        refreshJobs();
      } catch (err) {
        say(form, err.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }

  wire("upload", (form) => {
    const data = new FormData();
    for (const file of form.elements.files.files) {
      data.append(file.name.toLowerCase().endsWith(".zip") ? "archive" : "files", file);
    }
    return [`${api}/images/`, data];
  }, (r) => `${r.created.length} image(s) added, ${r.duplicates.length} duplicate(s) skipped. Reload to see them.`);

  wire("prelabel", (form) => [`${api}/prelabel/`, {
    model_version: Number(form.elements.model_version.value),
    images: form.elements.images.value,
    score_threshold: Number(form.elements.score_threshold.value),
  }], (job) => `pre-label job ${job.id} queued`);

  wire("train", (form) => [`${api}/train/`, {
    arch: form.elements.arch.value, minutes: Number(form.elements.minutes.value),
  }], (job) => `train job ${job.id} queued`);

  wire("export", (form) => [`${api}/exports/`, {
    format: form.elements.format.value,
    with_images: form.elements.with_images.checked,
    only_status: form.elements.approved_only.checked ? ["done", "reviewed"] : [],
  }], (job) => `export job ${job.id} queued`);

  const table = document.querySelector("[data-jobs] tbody");
  let timer = null;

  function row(job) {
    const tr = document.createElement("tr");
    tr.dataset.jobId = job.id;
    tr.dataset.status = job.status;
    const cell = (content) => {
      const td = document.createElement("td");
      if (content instanceof Node) td.append(content); else td.textContent = content;
      tr.append(td);
    };
    cell(String(job.id));
    cell(job.kind);
    cell(job.status);
    const bar = document.createElement("progress");
    bar.max = job.total || 1;
    bar.value = job.total ? job.done : (job.status === "succeeded" ? 1 : 0);
    const progress = document.createElement("span");
    progress.append(bar, ` ${job.done}/${job.total}`);
    cell(progress);
    cell(job.message || "");
    const actions = document.createElement("span");
    if (job.download_url) {
      const link = document.createElement("a");
      link.href = job.download_url;
      link.textContent = "Download";
      link.dataset.download = "";
      actions.append(link);
    }
    if (job.status === "queued" || job.status === "running") {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = "Cancel";
      cancel.addEventListener("click", () => send(`/api/jobs/${job.id}/cancel/`, {}).then(refreshJobs, refreshJobs));
      actions.append(cancel);
    }
    cell(actions);
    return tr;
  }

  async function refreshJobs() {
    clearTimeout(timer);
    try {
      const response = await fetch(`${api}/jobs/?page_size=15`, { credentials: "same-origin" });
      const page = await response.json();
      table.replaceChildren(...page.results.map(row));
      // Poll only while something is still moving.
      if (page.results.some((j) => j.status === "queued" || j.status === "running")) timer = setTimeout(refreshJobs, 1500);
    } catch {
      timer = setTimeout(refreshJobs, 5000);
    }
  }

  refreshJobs();
})();
