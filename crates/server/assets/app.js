// Progressive enhancement only: every page works without this file.
"use strict";

// Names some browsers still report for zones the tz database has renamed.
const RENAMED_ZONES = {
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon",
  "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
  "Europe/Kiev": "Europe/Kyiv",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "America/Godthab": "America/Nuuk",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Louisville": "America/Kentucky/Louisville",
  "Pacific/Truk": "Pacific/Chuuk",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Pacific/Enderbury": "Pacific/Kanton",
  "Etc/UTC": "UTC",
  "Etc/GMT": "UTC",
};

// On sign-up, choose the browser's own time zone so times show in local time.
document.addEventListener("DOMContentLoaded", () => {
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (_) {
    return; // The server's default stays chosen, and can be changed by hand.
  }
  zone = RENAMED_ZONES[zone] || zone;
  for (const select of document.querySelectorAll("select[data-detect-time-zone]")) {
    if (Array.from(select.options).some((o) => o.value === zone)) {
      select.value = zone;
    }
  }
});
