// Live word counts on the application form (progressive enhancement: the server
// counts and states the same numbers on every save, so the page works without this).
// A word is a run of characters that are not JavaScript's \s, which is exactly the
// server's WORD_SEPARATORS (portal/domain/applications.py).
(function () {
  "use strict";
  function countWords(text) {
    var words = text.match(/[^\s]+/g);
    return words ? words.length : 0;
  }
  var forms = document.querySelectorAll("form[data-word-count]");
  Array.prototype.forEach.call(forms, function (form) {
    Array.prototype.forEach.call(form.querySelectorAll("textarea"), function (area) {
      var hint = document.getElementById(area.id + "-hint");
      if (!hint) { return; }
      var match = /Up to (\d+) words/.exec(hint.textContent);
      if (!match) { return; }
      var limit = parseInt(match[1], 10);
      var update = function () {
        var n = countWords(area.value);
        hint.textContent = "Up to " + limit + " words. You have used " + n + (n === 1 ? " word." : " words.") +
          (n > limit ? " That is " + (n - limit) + " over the limit." : "");
        hint.classList.toggle("over-limit", n > limit);
      };
      area.addEventListener("input", update);
    });
  });
})();
