// 「すべての項目に同意する」 without leaving the page: the patient keeps their
// place and still confirms with the button below. Without this script the
// button posts and the server sends the page back at the same place.
(function () {
  var all = document.querySelector('button[name="all"]');
  var said = document.getElementById('all-status');
  if (!all || !said) return;
  all.addEventListener('click', function (e) {
    e.preventDefault();
    // Messages above the button go away with the answers they asked for;
    // the button stays where the patient tapped it.
    var top = all.getBoundingClientRect().top;
    document.querySelectorAll('input[type="radio"][value="agree"][name^="item_"]').forEach(function (r) {
      r.checked = true;
      var err = document.getElementById('err-' + r.name);
      if (err) err.hidden = true;
    });
    window.scrollBy(0, all.getBoundingClientRect().top - top);
    said.textContent = 'すべての項目を「同意する」にしました。内容を確かめて、下のボタンで進んでください。';
  });
})();
