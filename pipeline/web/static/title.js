// The display title field of the editor page (#17): what share pages and exports call the video.
// Kept apart from the caption editor's modules (static/editor/), which it does not touch.
const form = document.getElementById("title-form");
const input = document.getElementById("display-title");
const status = document.getElementById("title-status");
const csrf = document.querySelector('meta[name="csrf-token"]').content;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.textContent = "Saving…";
  try {
    const response = await fetch(`/api/assets/${form.dataset.asset}/title`, {
      method: "PUT", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({title: input.value}),
    });
    const body = await response.json();
    if (!response.ok) {
      status.textContent = `Not saved: ${body.detail}`;
      return;
    }
    input.placeholder = body.title;
    const pages = body.refreshed_share_pages;
    status.textContent = `Saved: “${body.title}”` + (pages ? `; ${pages} share page(s) updated.` : ".");
  } catch (error) {
    status.textContent = `Not saved: ${error.message}; check that the review app is still running.`;
  }
});
