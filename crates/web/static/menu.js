// 「閉じる」 in the menu (seed 000): closes it and gives the focus back to
// the menu button. Without the script the button stays hidden and the menu
// button itself closes the menu.
(function () {
  var menu = document.querySelector('details.menu');
  var close = menu && menu.querySelector('.menu__close');
  if (!close) return;
  close.hidden = false;
  close.addEventListener('click', function () {
    menu.open = false;
    menu.querySelector('summary').focus();
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && menu.open) {
      menu.open = false;
      menu.querySelector('summary').focus();
    }
  });
})();
