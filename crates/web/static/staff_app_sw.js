// マイナ資格確認アプリ's service worker: it keeps the offline screen and
// its look, and shows that screen when a page cannot be reached. Nothing
// else is cached: every other answer holds a session or personal data.
"use strict";
var CACHE = "zaitaku-app-offline-1";
var OFFLINE = ["/app/offline", "/app/static/app.css", "/app/static/app.js", "/app/icon.svg"];
self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(OFFLINE); }));
  self.skipWaiting();
});
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});
self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.mode === "navigate") {
    event.respondWith(fetch(req).catch(function () { return caches.match("/app/offline"); }));
  } else if (OFFLINE.indexOf(new URL(req.url).pathname) >= 0) {
    event.respondWith(fetch(req).catch(function () { return caches.match(req); }));
  }
});
