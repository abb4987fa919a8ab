// Starts Swagger UI on /docs (a file, not inline: the CSP allows scripts from SMP only).
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    // Deep links would put a link inside each operation's toggle button (nested controls).
    deepLinking: false,
    // No call to the public validator: nothing leaves this server.
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 1,
    docExpansion: "list",
  });
});
