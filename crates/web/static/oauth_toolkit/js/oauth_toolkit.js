/*
 * OAuth Toolkit: progressive enhancement only. Every page works without this script.
 *
 * A `<button class="copy" data-copy-target="ID" hidden>` copies the text of the element
 * with that id. The buttons are rendered hidden, so that without JavaScript no button
 * that does nothing shows; this script shows them. The outcome ("Copied") is shown next
 * to the button, in a polite live region that screen readers announce.
 */
(function () {
  "use strict";

  var SHOWN_FOR_MS = 2500;

  function statusFor(button) {
    var next = button.nextElementSibling;
    if (next && next.classList.contains("copy-status")) {
      return next;
    }
    var status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    button.insertAdjacentElement("afterend", status);
    return status;
  }

  function selectText(el) {
    var selection = window.getSelection && window.getSelection();
    if (!selection || !document.createRange) {
      return false;
    }
    var range = document.createRange();
    range.selectNodeContents(el);
    selection.removeAllRanges();
    selection.addRange(range);
    return true;
  }

  /* The old way, for browsers without the asynchronous clipboard (or outside a secure
   * context): select the text and ask the browser to copy the selection. When even that
   * is refused the text stays selected, ready for the keyboard's copy. */
  function fallbackCopy(el) {
    if (!selectText(el)) {
      return "failed";
    }
    try {
      if (document.execCommand && document.execCommand("copy")) {
        return "copied";
      }
    } catch (e) {
      /* refused: the text stays selected */
    }
    return "selected";
  }

  function say(status, text) {
    if (status.timer) {
      window.clearTimeout(status.timer);
    }
    status.textContent = text;
    status.timer = window.setTimeout(function () {
      status.textContent = "";
      status.timer = null;
    }, SHOWN_FOR_MS);
  }

  function report(status, outcome) {
    if (outcome === "copied") {
      say(status, "Copied");
    } else if (outcome === "selected") {
      say(status, "Selected: press Ctrl+C (or \u2318C) to copy");
    } else {
      say(status, "Could not copy: select the text and copy it");
    }
  }

  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) {
      return;
    }
    var text = target.textContent.trim();
    var status = statusFor(button);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          report(status, "copied");
        },
        function () {
          report(status, fallbackCopy(target));
        }
      );
    } else {
      report(status, fallbackCopy(target));
    }
  }

  function init() {
    var buttons = document.querySelectorAll("button.copy[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      if (!document.getElementById(button.getAttribute("data-copy-target"))) {
        return;
      }
      statusFor(button);
      button.addEventListener("click", function () {
        copy(button);
      });
      button.hidden = false;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
