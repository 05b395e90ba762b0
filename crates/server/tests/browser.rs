//! Browser journeys: a real headless Chromium (from Debian) driven through
//! ChromeDriver against a real Rapport server with a fresh database.
//!
//! Each test starts its own server, its own ChromeDriver on a free port and
//! its own browser profile, so tests run in parallel without meeting.
//! Needs Chromium, ChromeDriver and axe-core: `bash scripts/test.sh`
//! installs them. `RAPPORT_CHROMIUM` and `RAPPORT_CHROMEDRIVER` override
//! the binaries; set `RAPPORT_SCREENSHOTS=/some/dir` to save a full-page
//! screenshot of every page at 1280 px (accessibility audit) and 360 px
//! (phone layout), to look at the design as a person would.

mod common;

#[path = "browser/accounts.rs"]
mod accounts;
#[path = "browser/couples.rs"]
mod couples;
#[path = "browser/every_page.rs"]
mod every_page;
#[path = "browser/harness.rs"]
mod harness;
#[path = "browser/matching.rs"]
mod matching;
#[path = "browser/matching_pages.rs"]
mod matching_pages;
#[path = "browser/rooms.rs"]
mod rooms;
#[path = "browser/tour.rs"]
mod tour;
#[path = "browser/trust.rs"]
mod trust;
