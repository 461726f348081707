// On-screen keypad for the PIN: large keys for elderly patients. The field
// also works without this script (the phone's numeric keyboard appears).
// The dots of a password field are small and say nothing to a screen
// reader, so the count of digits entered is written out and announced.
(function () {
  var input = document.getElementById('pin');
  var pad = document.querySelector('.keypad');
  var progress = document.getElementById('pin-progress');
  if (!input || !pad) return;
  pad.hidden = false;
  function report() {
    if (progress) progress.textContent = '4桁中' + input.value.length + '桁入力';
  }
  if (progress) {
    progress.hidden = false;
    report();
  }
  pad.addEventListener('click', function (e) {
    var key = e.target.closest('button');
    if (!key) return;
    if (key.dataset.digit && input.value.length < 4) input.value += key.dataset.digit;
    if (key.dataset.back) input.value = input.value.slice(0, -1);
    if (key.dataset.clear) input.value = '';
    report();
    input.focus();
  });
  input.addEventListener('input', report);
})();
