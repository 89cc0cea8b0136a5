// Swagger UI for /openapi.json, served from this app. "Try it out" sends the page's CSRF token.
"use strict";
const csrf = document.querySelector('meta[name="csrf-token"]').content;
window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  requestInterceptor: (request) => { request.headers["X-CSRF-Token"] = csrf; return request; },
});
