// Passkeys: a form marked data-passkey="create" or "get" asks the server for the ceremony's options, lets the
// browser's authenticator answer, then posts the answer (JSON, base64url fields) in the form's "credential"
// field. The server decides everything; this file only carries bytes between the two.
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(binary, function (c) { return c.charCodeAt(0); });
  }

  function toText(buffer) {
    var binary = String.fromCharCode.apply(null, new Uint8Array(buffer));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBytes(options) {
    options.challenge = toBytes(options.challenge);
    if (options.user) { options.user.id = toBytes(options.user.id); }
    [options.excludeCredentials, options.allowCredentials].forEach(function (list) {
      (list || []).forEach(function (descriptor) { descriptor.id = toBytes(descriptor.id); });
    });
    return options;
  }

  function asJson(credential) {
    var answer = credential.response;
    var response = { clientDataJSON: toText(answer.clientDataJSON) };
    if (answer.attestationObject) {
      response.attestationObject = toText(answer.attestationObject);
      response.transports = answer.getTransports ? answer.getTransports() : [];
    } else {
      response.authenticatorData = toText(answer.authenticatorData);
      response.signature = toText(answer.signature);
      response.userHandle = answer.userHandle ? toText(answer.userHandle) : null;
    }
    return JSON.stringify({
      id: credential.id, rawId: toText(credential.rawId), type: credential.type, response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null
    });
  }

  function say(form, message) {
    var status = form.querySelector("[data-passkey-status]");
    status.textContent = message;
    status.hidden = false;
  }

  async function ceremony(form) {
    var answer = await fetch(form.dataset.passkeyOptions, {
      method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form))
    });
    var options = await answer.json();
    if (!answer.ok) { say(form, options.message); return; }
    var credential;
    try {
      credential = form.dataset.passkey === "create"
        ? await navigator.credentials.create({ publicKey: withBytes(options) })
        : await navigator.credentials.get({ publicKey: withBytes(options) });
    } catch (error) {
      say(form, "No passkey was used: the prompt was closed, timed out, or found no passkey for this site. Try again.");
      return;
    }
    form.elements.credential.value = asJson(credential);
    form.submit();
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    if (!window.PublicKeyCredential) {
      say(form, "This browser cannot use passkeys.");
      form.querySelector("button").disabled = true;
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ceremony(form).catch(function () { say(form, "Something went wrong while talking to the server. Try again."); });
    });
  });
})();
