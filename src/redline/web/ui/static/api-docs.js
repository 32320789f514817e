// Starts the vendored Swagger UI on redline's OpenAPI document (a file, not inline script, so
// the Content-Security-Policy can forbid inline script everywhere).
window.addEventListener("load", () => {
  window.SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger", deepLinking: true });
});
