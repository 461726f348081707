// マイナ資格確認アプリ: registers the service worker (the offline screen)
// and lets 👁 show a password field's text.
"use strict";
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(function () {});
}
document.querySelectorAll("[data-reveal]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-reveal"));
  if (!field) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var show = field.type === "password";
    field.type = show ? "text" : "password";
    button.setAttribute("aria-pressed", show ? "true" : "false");
    button.setAttribute("aria-label", show ? "パスワードを隠す" : "パスワードを表示する");
  });
});
// 「コピー」: the result as text, one 項目<TAB>値 line each. The clipboard
// API where the page may use it; otherwise the older copy command on the
// selected text (a page served over plain http on a local network).
document.querySelectorAll("[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.getAttribute("data-copy"));
  var status = document.querySelector(".copy-status");
  if (!source) { return; }
  var say = function (text) { if (status) { status.textContent = text; } };
  var fallback = function () {
    source.removeAttribute("aria-hidden");
    source.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    source.setAttribute("aria-hidden", "true");
    button.focus();
    say(ok ? "コピーしました" : "コピーできませんでした");
  };
  button.hidden = false;
  button.addEventListener("click", function () {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(function () { say("コピーしました"); }, fallback);
    } else {
      fallback();
    }
  });
});
