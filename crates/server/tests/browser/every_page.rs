//! Checks that hold on every page: no serious accessibility problems, no
//! sideways scrolling on a small phone, and help one click away.

use crate::common::TestServer;
use crate::harness::{Browser, BrowserOptions};
use crate::tour;
use fantoccini::Locator;

#[tokio::test]
async fn every_page_passes_an_axe_core_audit() {
    let server = TestServer::spawn().await;
    tour::create_account(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::default()).await;

    // axe-core goes in through WebDriver, which the page's CSP does not
    // govern; the page itself must still refuse inline scripts.
    b.open("/").await;
    b.wait_for_heading("When you feel far apart, you don't have to find the way back alone.").await;
    let blocked = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             document.addEventListener('securitypolicyviolation',
               e => done({ ran: window.inlineScriptRan === true, directive: e.effectiveDirective }));
             const s = document.createElement('script');
             s.textContent = 'window.inlineScriptRan = true;';
             document.head.appendChild(s);",
            vec![],
        )
        .await
        .expect("try an inline script");
    assert_eq!(
        blocked,
        serde_json::json!({ "ran": false, "directive": "script-src-elem" }),
        "the page's CSP should block inline scripts"
    );

    // The audit can fail: an image without a text alternative is caught.
    b.run_script("document.querySelector('main').append(document.createElement('img'));").await;
    let found = b.axe().await;
    assert!(
        found.iter().any(|v| v.id == "image-alt" && v.is_blocking()),
        "axe-core should report an image without alt text, but found: {found:?}"
    );

    let mut blocking = Vec::new();
    tour::every_page(&b, async |page: &str| {
        b.screenshot(&format!("{}-1280", tour::file_name(page))).await;
        blocking.extend(b.blocking_axe(page).await);
    })
    .await;
    b.close().await;
    server.stop().await;

    assert!(blocking.is_empty(), "axe-core found serious or critical problems:\n{}", blocking.join("\n"));
}

#[tokio::test]
async fn every_page_fits_a_small_phone() {
    let server = TestServer::spawn().await;
    tour::create_account(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::phone()).await;

    // The measurement can fail: something wider than the phone is caught.
    b.open("/").await;
    let w = b
        .run_script(
            "const wide = document.createElement('div');
             wide.id = 'too-wide';
             wide.style.width = '600px';
             wide.style.height = '1px';
             document.querySelector('main').append(wide);
             return wide.getBoundingClientRect().width;",
        )
        .await;
    assert_eq!(w, 600, "the test element should be 600 px wide");
    let w = b.width().await;
    assert!(
        w.scrolls_sideways() && w.overflowing.iter().any(|e| e.starts_with("div#too-wide")),
        "a 600 px element should make the page scroll sideways: {w:?}"
    );

    let mut too_wide = Vec::new();
    let mut blocking = Vec::new();
    tour::every_page(&b, async |page: &str| {
        let w = b.width().await;
        assert!(
            (340.0..=360.0).contains(&w.inner_width) && w.client_width <= 360.0,
            "the window should be about 360 px wide, but on the {page} it is {w:?}"
        );
        if w.scrolls_sideways() {
            too_wide.push(format!(
                "{page}: the page is {} px wide in a {} px window; sticking out: {}",
                w.scroll_width,
                w.client_width,
                w.overflowing.join(", ")
            ));
        }
        b.screenshot(&format!("{}-360", tour::file_name(page))).await;
        // Some problems only show on a small screen, e.g. a table that has
        // to scroll inside its box but cannot be reached by keyboard.
        blocking.extend(b.blocking_axe(page).await);
    })
    .await;
    b.close().await;
    server.stop().await;

    assert!(too_wide.is_empty(), "pages that scroll sideways at 360 px:\n{}", too_wide.join("\n"));
    assert!(blocking.is_empty(), "axe-core found serious or critical problems at 360 px:\n{}", blocking.join("\n"));
}

#[tokio::test]
async fn every_page_offers_help_now_which_leads_to_crisis_lines() {
    let server = TestServer::spawn().await;
    tour::create_account(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::default()).await;

    let crisis_url = b.url("/crisis");
    tour::every_page(&b, async |page: &str| {
        let link = b.find_link("header", "Need help now?").await;
        let href = link.prop("href").await.expect("href");
        assert_eq!(href.as_deref(), Some(crisis_url.as_str()), "the help link on the {page}");
        assert!(link.is_displayed().await.expect("visible"), "the help link is visible on the {page}");
        link.click().await.expect("follow Need help now?");
        b.wait_for_heading("Get help now").await;
        let call_988 = b.wait_for(Locator::Css("main a[href='tel:988']")).await;
        assert_eq!(call_988.text().await.expect("text"), "988", "from the {page}");
        let text = b.main_text().await;
        assert!(text.contains("Call or text 988 (Suicide & Crisis Lifeline), any time."), "from the {page}: {text}");
    })
    .await;
    b.close().await;
    server.stop().await;
}
