// An iPad asking for the desktop site says "Macintosh"; only its touch
// screen tells it apart. iPadOS cannot use an IC card reader (seed 000 参考).
(function () {
  var option = document.getElementById('card-reader-option');
  if (option && navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1) {
    option.hidden = true;
  }
})();
