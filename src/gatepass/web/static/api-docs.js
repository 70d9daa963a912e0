// Starts Swagger UI on /api/docs. Kept in a file, not inline, so the page's CSP needs no 'unsafe-inline'.
"use strict";
window.addEventListener("load", function () {
  var page = document.body.dataset;
  var ui = window.SwaggerUIBundle({
    url: page.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: false,
    oauth2RedirectUrl: page.redirectUrl,
    // Tokens stay in this tab's memory only.
    persistAuthorization: false,
  });
  ui.initOAuth({
    clientId: page.clientId || "",
    scopes: ["all"],
    // RFC 7636 S256: Gatepass requires PKCE of every client.
    usePkceWithAuthorizationCodeGrant: true,
  });
  window.ui = ui;
});
