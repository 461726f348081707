// On-screen keypad for the PIN: large keys for elderly patients. The field
// also works without this script (the phone's numeric keyboard appears).
(function () {
  var input = document.getElementById('pin');
  var pad = document.querySelector('.keypad');
  if (!input || !pad) return;
  pad.hidden = false;
  pad.addEventListener('click', function (e) {
    var key = e.target.closest('button');
    if (!key) return;
    if (key.dataset.digit && input.value.length < 4) input.value += key.dataset.digit;
    if (key.dataset.back) input.value = input.value.slice(0, -1);
    if (key.dataset.clear) input.value = '';
    input.focus();
  });
})();
