// Progressive enhancement only: every page works without this file.
"use strict";

// Fill in the browser's time zone on sign-up so times show in local time.
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[data-detect-time-zone]")) {
    if (!input.value) {
      try {
        input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
      } catch (_) {
        // Leave it empty: the account starts in UTC and can be changed in Settings.
      }
    }
  }
});
