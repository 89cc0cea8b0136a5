"use strict";
const form = document.getElementById("login");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("login-status");
    const response = await fetch("/api/session", {
      method: "POST",
      headers: {"Content-Type": "application/json",
                "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
      body: JSON.stringify({token: document.getElementById("token").value}),
    });
    if (response.ok) { window.location.assign("/"); return; }
    status.textContent = (await response.json()).detail;
  });
}
