// Progressive enhancement only: every form works without this script.
"use strict";

function csrfOf(form) {
  const field = form.querySelector('input[name="csrf_token"]');
  return field ? field.value : "";
}

async function postFragment(form) {
  const response = await fetch(form.action, {
    method: "POST",
    body: new URLSearchParams(new FormData(form)),
    headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrfOf(form) },
    credentials: "same-origin",
  });
  return { ok: response.ok, html: await response.text() };
}

function enhanceAsk(form) {
  const conversation = document.getElementById("conversation");
  const box = form.querySelector("textarea");
  const button = form.querySelector("button");
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!box.value.trim()) return;
    button.disabled = true;
    try {
      const { html } = await postFragment(form);
      document.querySelectorAll("form.step, ul.starters").forEach((old) => old.remove());
      conversation.insertAdjacentHTML("beforeend", html);
      box.value = "";
      const last = conversation.lastElementChild;
      if (last) last.scrollIntoView({ block: "nearest" });
    } finally {
      button.disabled = false;
      box.focus();
    }
  });
}

// Reply actions (feedback, ask a person) replace their own block with the server's answer.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.enhance !== "action") return;
  event.preventDefault();
  const { html } = await postFragment(form);
  const block = form.closest("[data-action-block]") || form;
  block.outerHTML = html;
});

// Step buttons of a report and starter questions say their words as the next message;
// the earlier turns' step buttons go, so a step can't be clicked out of order.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.enhance !== "say") return;
  event.preventDefault();
  const conversation = document.getElementById("conversation");
  const { html } = await postFragment(form);
  document.querySelectorAll("form.step, ul.starters").forEach((old) => old.remove());
  conversation.insertAdjacentHTML("beforeend", html);
  const last = conversation.lastElementChild;
  if (last) last.scrollIntoView({ block: "nearest" });
});

// A citation marker opens the cited passage.
document.addEventListener("click", (event) => {
  const marker = event.target.closest && event.target.closest("a.marker");
  if (!marker) return;
  const details = document.getElementById(marker.dataset.cite);
  if (details) details.open = true;
});

function followJob(box) {
  const url = box.dataset.jobUrl.replace("format=json", "format=fragment");
  const tick = async () => {
    const response = await fetch(url, { headers: { "X-Requested-With": "fetch" } });
    if (!response.ok) return;
    box.innerHTML = await response.text();
    if (box.querySelector(".job-state").textContent.trim().startsWith("Running")) {
      setTimeout(tick, 500);
    } else {
      box.dataset.state = "finished";
    }
  };
  if (box.dataset.state === "running") setTimeout(tick, 300);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll('form[data-enhance="ask"]').forEach(enhanceAsk);
  const job = document.getElementById("job");
  if (job) followJob(job);
  const hash = window.location.hash.slice(1);
  const target = hash && document.getElementById(hash);
  if (target && target.tagName === "DETAILS") target.open = true;
});
