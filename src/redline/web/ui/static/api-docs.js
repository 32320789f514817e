// Starts the vendored Swagger UI on redline's OpenAPI document (a file, not inline script, so
// the Content-Security-Policy can forbid inline script everywhere). Without deep links: Swagger UI
// puts each operation's link inside the button that opens it, a control nested in a control that
// screen readers and keyboards cannot reach.
window.addEventListener("load", () => {
  window.SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger", deepLinking: false });
});
