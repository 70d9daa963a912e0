// The OAuth redirect page of /api/docs: hands the authorization response back to Swagger UI
// in the window that opened this popup, then closes the popup.
"use strict";
(function () {
  var opener = window.opener;
  var pending = opener && opener.swaggerUIRedirectOauth2;
  if (!pending) {
    document.body.textContent = "This page finishes signing in to the API docs; open /api/docs to start.";
    return;
  }
  var params = new URLSearchParams(window.location.hash ? window.location.hash.slice(1) : window.location.search);
  var response = {};
  params.forEach(function (value, key) { response[key] = value; });
  var auth = pending.auth;
  var flow = auth.schema.get("flow");
  var isCodeFlow = flow === "authorizationCode" || flow === "accessCode" || flow === "authorization_code";
  if (response.state !== pending.state) {
    pending.errCb({ authId: auth.name, source: "auth", level: "error",
      message: "The state returned by the server does not match the one sent; not signing in." });
  } else if (isCodeFlow && response.code) {
    delete pending.state;
    auth.code = response.code;
    pending.callback({ auth: auth, redirectUrl: pending.redirectUrl });
  } else if (isCodeFlow) {
    pending.errCb({ authId: auth.name, source: "auth", level: "error",
      message: "[" + (response.error || "no_code") + "]: " + (response.error_description || "no code was returned") });
  } else {
    pending.callback({ auth: auth, token: response, isValid: true, redirectUrl: pending.redirectUrl });
  }
  window.close();
})();
