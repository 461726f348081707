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
// 「コピー」: the result as text, one 項目<TAB>値 line each.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.getAttribute("data-copy"));
  var status = document.querySelector(".copy-status");
  if (!source || !navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(source.value).then(function () {
      if (status) { status.textContent = "コピーしました"; }
    }, function () {
      if (status) { status.textContent = "コピーできませんでした"; }
    });
  });
});
