// A page the back button restores from the browser's memory shows the visit
// as it was when the patient left it; the server may know better (the
// authenticator never came back), so ask it again. Only on pages shown by a
// plain GET, where asking again changes nothing.
window.addEventListener('pageshow', function (e) {
  if (e.persisted) location.reload();
});
