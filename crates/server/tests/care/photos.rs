//! Profile photos: images only (judged by their bytes), size-limited,
//! served with a safe content type, visible once the therapist is approved.

use crate::common::browser_like_client;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn put_photo(
    server: &crate::common::TestServer,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    crate::common::api_client()
        .put(server.url("/api/v1/therapists/application/photo"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn photos_are_checked_stored_and_shown_only_once_approved() {
    let server = crate::common::TestServer::spawn().await;
    let admin = admin(&server).await;
    let early = sign_up(&server, "Early").await;
    let p =
        problem(put_photo(&server, &early.token, "image/png", PNG.to_vec()).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_fields(&p), ["photo"], "no application yet: {p}");

    let dana = applicant(&server, "Dana", json!({})).await;
    // Not an image, whatever it claims; the wrong content type; too large.
    let p = problem(
        put_photo(&server, &dana.token, "image/png", b"<svg onload=alert(1)>".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["photo"], "{p}");
    problem(put_photo(&server, &dana.token, "text/html", PNG.to_vec()).await, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let mut big = PNG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let p = problem(put_photo(&server, &dana.token, "image/png", big).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), ["photo"], "{p}");

    let ok = put_photo(&server, &dana.token, "image/jpeg", PNG.to_vec()).await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    let path = format!("/api/v1/therapists/{}/photo", dana.id);
    let own = get(&server, &path, &dana.token).await;
    assert_eq!(own.status(), StatusCode::OK);
    // The type comes from the bytes (a PNG), not from what the uploader said.
    assert_eq!(own.headers()["content-type"], "image/png");
    assert!(own.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(own.headers()["x-content-type-options"], "nosniff");
    assert_eq!(own.bytes().await.unwrap().as_ref(), PNG);

    // Clients can't see a pending therapist's photo; they can once approved.
    let client = client(&server, "Robin", json!({})).await;
    problem(get(&server, &path, &client.token).await, StatusCode::NOT_FOUND).await;
    json_with_status(approve(&server, &admin, &dana.id).await, StatusCode::OK).await;
    assert_eq!(get(&server, &path, &client.token).await.status(), StatusCode::OK);
    server.stop().await;
}

fn multipart(csrf: &str, photo: &[u8]) -> (String, Vec<u8>) {
    let boundary = "rapportboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"me.png\"\r\nContent-Type: image/png\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts the photo form as a browser would.
async fn post_photo(
    web: &reqwest::Client,
    server: &crate::common::TestServer,
    cookie: &str,
    csrf: &str,
    photo: &[u8],
) -> reqwest::Response {
    let (content_type, body) = multipart(csrf, photo);
    web.post(server.url("/therapist/photo"))
        .header("cookie", cookie)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_web_form_uploads_a_photo_with_csrf_and_matches_show_it() {
    let server = crate::common::TestServer::spawn().await;
    let admin = admin(&server).await;
    let dana = therapist(&server, &admin, "Dana", json!({})).await;
    let cookie = browser_cookie(&server, &dana).await;
    let web = browser_like_client();
    let page =
        web.get(server.url("/therapist/apply")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Profile photo"), "{page}");
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..].split('"').next().unwrap().to_owned();

    let refused = post_photo(&web, &server, &cookie, "not-the-token", PNG).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let wrong = post_photo(&web, &server, &cookie, &csrf, b"GIF89a not allowed").await;
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);
    assert!(wrong.headers()["location"].to_str().unwrap().contains("photo_error=type"));

    let saved = post_photo(&web, &server, &cookie, &csrf, PNG).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(saved.headers()["location"].to_str().unwrap().contains("saved=photo"));

    // A client's matches show the photo, served to them as an image.
    let robin = client(&server, "Robin", json!({})).await;
    let robin_cookie = browser_cookie(&server, &robin).await;
    let matches =
        web.get(server.url("/matches")).header("cookie", &robin_cookie).send().await.unwrap().text().await.unwrap();
    let src = format!("/therapists/{}/photo", dana.id);
    assert!(matches.contains(&src), "{matches}");
    let img = web.get(server.url(&src)).header("cookie", &robin_cookie).send().await.unwrap();
    assert_eq!(img.status(), StatusCode::OK);
    assert_eq!(img.headers()["content-type"], "image/png");
    server.stop().await;
}

#[tokio::test]
async fn the_matches_page_can_show_other_therapists_and_says_when_there_are_no_more() {
    let server = crate::common::TestServer::spawn().await;
    let admin = admin(&server).await;
    for name in ["Dr One", "Dr Two", "Dr Three", "Dr Four"] {
        therapist(&server, &admin, name, json!({})).await;
    }
    let robin = client(&server, "Robin", json!({})).await;
    let cookie = browser_cookie(&server, &robin).await;
    let web = browser_like_client();
    let first = web.get(server.url("/matches")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    let at = first.find("href=\"/matches?exclude=").expect("a link to other therapists") + 6;
    let link = first[at..].split('"').next().unwrap().replace("&#x2c;", ",").replace("&#44;", ",");
    let second = web.get(server.url(&link)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    let shown_first = ["Dr One", "Dr Two", "Dr Three", "Dr Four"].iter().filter(|n| first.contains(*n)).count();
    assert_eq!(shown_first, 3);
    let new_one = ["Dr One", "Dr Two", "Dr Three", "Dr Four"].iter().find(|n| !first.contains(*n)).unwrap();
    assert!(second.contains(new_one), "the fourth therapist is shown next: {second}");
    let at = second.find("href=\"/matches?exclude=").expect("another link") + 6;
    let link = second[at..].split('"').next().unwrap().replace("&#x2c;", ",").replace("&#44;", ",");
    let third = web.get(server.url(&link)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(third.contains("seen everyone who fits right now"), "{third}");
    server.stop().await;
}
