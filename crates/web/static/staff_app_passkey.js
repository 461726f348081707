// 生体認証 (passkeys) for マイナ資格確認アプリ: runs the browser's WebAuthn
// ceremony between the server's options and its verification. The buttons
// stay hidden where the browser has no platform authenticator.
"use strict";
(function () {
  var toBuf = function (s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) { out[i] = b.charCodeAt(i); }
    return out.buffer;
  };
  var toB64 = function (buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  var post = function (url, body, csrf) {
    var headers = { "Content-Type": "application/json", "X-Requested-With": "zaitaku" };
    if (csrf) { headers["X-CSRF-Token"] = csrf; }
    return fetch(url, { method: "POST", headers: headers, credentials: "same-origin", body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) { throw j; } return j; }); });
  };
  var say = function (el, text) { if (el) { el.textContent = text; } };
  var failed = function (status) {
    return function (e) {
      say(status, (e && e.message) ? e.message + (e.code ? "（エラーコード：" + e.code + "）" : "") : "生体認証を確認できませんでした。パスコードでログインしてください。");
    };
  };
  var ready = window.PublicKeyCredential && PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable
    ? PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable() : Promise.resolve(false);
  ready.then(function (available) {
    if (!available) { return; }
    document.querySelectorAll("[data-passkey]").forEach(function (button) {
      var status = document.getElementById(button.getAttribute("aria-describedby"));
      var csrf = button.getAttribute("data-csrf");
      button.hidden = false;
      if (button.getAttribute("data-passkey") === "enrol") {
        button.addEventListener("click", function () {
          post("/app/passkey/enrol/start", {}, csrf).then(function (o) {
            var p = o.publicKey;
            p.challenge = toBuf(p.challenge);
            p.user.id = toBuf(p.user.id);
            (p.excludeCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
            return navigator.credentials.create({ publicKey: p });
          }).then(function (c) {
            return post("/app/passkey/enrol/finish", {
              id: c.id, rawId: toB64(c.rawId), type: c.type, extensions: {},
              response: { clientDataJSON: toB64(c.response.clientDataJSON), attestationObject: toB64(c.response.attestationObject) }
            }, csrf);
          }).then(function (r) { window.location.assign(r.next); }, failed(status));
        });
      } else {
        var kind = button.getAttribute("data-passkey");
        button.addEventListener("click", function () {
          post("/app/passkey/" + kind + "/start", {}, csrf).then(function (o) {
            var p = o.publicKey;
            p.challenge = toBuf(p.challenge);
            (p.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
            return navigator.credentials.get({ publicKey: p });
          }).then(function (c) {
            return post("/app/passkey/" + kind + "/finish", {
              id: c.id, rawId: toB64(c.rawId), type: c.type, extensions: {},
              response: {
                clientDataJSON: toB64(c.response.clientDataJSON), authenticatorData: toB64(c.response.authenticatorData),
                signature: toB64(c.response.signature), userHandle: c.response.userHandle ? toB64(c.response.userHandle) : null
              }
            }, csrf);
          }).then(function (r) { window.location.assign(r.next); }, failed(status));
        });
      }
    });
  });
})();
