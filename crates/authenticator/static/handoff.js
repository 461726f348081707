// The authenticator's waiting without reloading pages: a reload makes a
// screen reader start the page over, so the QR page asks the server instead
// whether the phone has finished, counts down the five minutes, and moves on
// by itself; the success page goes back to the service after a moment. The
// pages work without this script through their links.
(function () {
  'use strict';

  // A page the back button restores from the browser's memory shows the
  // hand-off as it was (a PIN pad, digits still in it); it may have
  // finished since, Back from the service's completion page, so ask the
  // server again, which says the authentication is used.
  window.addEventListener('pageshow', function (e) {
    if (e.persisted) location.reload();
  });

  // Long enough to read 「認証に成功しました」, as the app does.
  var back = document.querySelector('a[data-auto-return]');
  if (back) {
    setTimeout(function () { location.replace(back.href); }, 2000);
  }

  var wait = document.querySelector('[data-status-url]');
  var clock = document.getElementById('countdown');
  var say = document.getElementById('wait-status');
  if (!wait || !clock || !say) return;
  var statusUrl = wait.getAttribute('data-status-url');
  var fallback = wait.getAttribute('data-fallback-url');
  // From this browser's clock: a sleeping tab's timers stop, the clock not.
  var deadline = Date.now() + Number(clock.getAttribute('data-seconds')) * 1000;
  var warned = false;
  var leaving = false;

  function show(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    clock.textContent = m + ':' + (s < 10 ? '0' : '') + s;
  }

  function go(url, message) {
    if (leaving) return;
    leaving = true;
    say.textContent = message;
    // The QR page is done with: Back from the service skips it.
    location.replace(url);
  }

  function tick() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    show(left);
    // Once, not every second: a live region that talks each second drowns
    // everything else out.
    if (!warned && left > 0 && left <= 60) {
      warned = true;
      say.textContent = '有効期限まで残り1分です。';
    }
  }

  function poll() {
    if (leaving) return;
    fetch(statusUrl, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 404) {
          go(fallback, '');
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (s) {
        if (!s || !s.next) return;
        if (s.state === 'done') go(s.next, '認証が完了しました。次の画面に進みます。');
        else if (s.state === 'expired') go(s.next, '有効期限が切れました。');
        else if (s.state === 'cancelled') go(s.next, '認証は中止されました。');
      })
      // A dropped connection (a weak signal at the patient's home): the
      // next poll tries again.
      .catch(function () {});
  }

  tick();
  setInterval(tick, 1000);
  setInterval(poll, 2000);
})();
