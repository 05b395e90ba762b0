//! Attachments: voice and video messages, pictures and PDFs are accepted by what
//! their bytes are (never by their name or claimed type), within per-type limits,
//! and served to room members only, with headers that keep them from running.

use crate::common::TestServer;
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(b"\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\nIDATx\x9cc\0\x01\0\0\x05\0\x01\r\n-\xb4\0\0\0\0IEND\xaeB`\x82");
    b
}

fn webm() -> Vec<u8> {
    let mut b = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01];
    b.extend_from_slice(b"webm voice message frames");
    b
}

fn ogg() -> Vec<u8> {
    let mut b = b"OggS\0\x02".to_vec();
    b.extend_from_slice(&[0u8; 20]);
    b.extend_from_slice(b"OpusHead");
    b
}

/// Downloads an attachment.
async fn download(server: &TestServer, who: &Person, url: &str) -> reqwest::Response {
    authed(server, Method::GET, url, &who.token).send().await.expect("GET attachment")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// The `filename` of a Content-Disposition header, asserting it is a single, plain, quoted name.
fn disposition_file_name(value: &str) -> String {
    let (_, rest) = value.split_once("filename=\"").unwrap_or_else(|| panic!("a quoted filename: {value}"));
    let name = rest.strip_suffix('"').unwrap_or_else(|| panic!("the filename ends the header: {value}"));
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
        "only safe characters in {name:?}"
    );
    assert!(!name.starts_with('.') && !name.is_empty(), "{name:?}");
    name.to_owned()
}

async fn check_download(server: &TestServer, who: &Person, message: &Value, bytes: &[u8], content_type: &str) {
    let url = s(&message["attachment"], "url");
    assert_eq!(url, format!("/api/v1/messages/{}/attachment", s(message, "id")));
    let response = download(server, who, &url).await;
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    assert_eq!(header(&response, "content-type"), content_type);
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    let csp = header(&response, "content-security-policy");
    assert!(csp.contains("sandbox") && csp.contains("default-src 'none'"), "a sandboxing CSP: {csp:?}");
    let name = disposition_file_name(&header(&response, "content-disposition"));
    assert_eq!(name, s(&message["attachment"], "file_name"));
    assert_eq!(&response.bytes().await.unwrap()[..], bytes, "the same bytes come back");
}

#[tokio::test]
async fn voice_video_pictures_and_pdfs_can_be_sent_and_fetched_by_members() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;

    // (file name, bytes, claimed type, recorded as video, kind, served as)
    type Case = (&'static str, Vec<u8>, &'static str, bool, &'static str, &'static str);
    let cases: [Case; 5] = [
        ("notes.pdf", pdf(), "application/pdf", false, "pdf", "application/pdf"),
        ("drawing.png", png(), "image/png", false, "image", "image/png"),
        ("voice.webm", webm(), "audio/webm", false, "audio", "audio/webm"),
        ("hello.webm", webm(), "video/webm", true, "video", "video/webm"),
        ("voice.ogg", ogg(), "audio/ogg", false, "audio", "audio/ogg"),
    ];
    let mut sent = Vec::new();
    for (file_name, bytes, claimed, video, kind, served_as) in cases {
        let mut parts = vec![Part::file(file_name, claimed, bytes.clone()), Part::text("body", "Here it is")];
        if video {
            parts.push(Part::text("video", "true"));
        }
        let m = json_with_status(attach(&server, &client, &room, &parts).await, StatusCode::CREATED).await;
        assert_eq!(m["body"], "Here it is", "{m}");
        assert_eq!(m["sender_id"], client.id.as_str());
        let a = &m["attachment"];
        assert_eq!(keys(a), set(["kind", "content_type", "file_name", "size", "url"]), "{a}");
        assert_eq!(a["kind"], kind, "{file_name}");
        assert_eq!(a["content_type"], served_as, "{file_name}");
        assert_eq!(a["file_name"], file_name);
        assert_eq!(a["size"].as_u64(), Some(bytes.len() as u64));
        check_download(&server, &therapist, &m, &bytes, served_as).await;
        check_download(&server, &client, &m, &bytes, served_as).await;
        sent.push(m);
    }
    // Without a caption is fine too.
    let bare = attach(&server, &therapist, &room, &[Part::file("reply.pdf", "application/pdf", pdf())]).await;
    let bare = json_with_status(bare, StatusCode::CREATED).await;
    assert_eq!(bare["body"], "");
    // A PDF is a download; pictures and audio may show inline.
    let response = download(&server, &client, &s(&bare["attachment"], "url")).await;
    assert!(header(&response, "content-disposition").starts_with("attachment;"), "{:?}", response.headers());

    // They are messages in the room's history, like any other.
    let page = everything(&server, &therapist, &room).await;
    assert_eq!(page.len(), 6);
    assert_eq!(page[0]["attachment"], sent[0]["attachment"]);
    server.stop().await;
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_never_the_name() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>".to_vec();
    let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run in DOS mode.".to_vec();
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec();
    for (name, bytes, claimed) in [
        ("page.html", html.clone(), "text/html"),
        ("photo.png", html, "image/png"),
        ("setup.exe", exe.clone(), "application/octet-stream"),
        ("report.pdf", exe, "application/pdf"),
        ("icon.svg", svg, "image/svg+xml"),
        ("notes.txt", b"just some text".to_vec(), "text/plain"),
    ] {
        let response = attach(&server, &client, &room, &[Part::file(name, claimed, bytes)]).await;
        let fields = field_error(response, "attachment", name).await;
        assert_eq!(fields, ["attachment"], "{name}");
    }
    // A form without a file, or not a form at all.
    field_error(attach(&server, &client, &room, &[Part::text("body", "no file")]).await, "attachment", "no file").await;
    let path = format!("/api/v1/rooms/{room}/attachments");
    let json = post(&server, &path, &client.token, &serde_json::json!({})).await;
    problem(json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    // A PDF named like a page is served as a PDF, under a harmless name.
    let m = attach(&server, &client, &room, &[Part::file("../../evil\".html", "text/html", pdf())]).await;
    let m = json_with_status(m, StatusCode::CREATED).await;
    assert_eq!(m["attachment"]["content_type"], "application/pdf");
    let name = s(&m["attachment"], "file_name");
    assert!(!name.contains('/') && !name.contains('"') && !name.contains('\\') && !name.starts_with('.'), "{name}");
    check_download(&server, &therapist, &m, &pdf(), "application/pdf").await;

    assert_eq!(everything(&server, &therapist, &room).await.len(), 1, "only the PDF was stored");
    server.stop().await;
}

#[tokio::test]
async fn attachments_over_their_limit_are_refused() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    // Pictures: 5 MB at most.
    let mut picture = png();
    picture.resize(5 * 1024 * 1024 + 1, 0);
    let status = attach(&server, &client, &room, &[Part::file("big.png", "image/png", picture.clone())]).await.status();
    assert!(status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    picture.truncate(5 * 1024 * 1024);
    let fits = attach(&server, &client, &room, &[Part::file("ok.png", "image/png", picture)]).await;
    json_with_status(fits, StatusCode::CREATED).await;
    // PDFs: 10 MB.
    let mut document = pdf();
    document.resize(10 * 1024 * 1024 + 1, b' ');
    let status = attach(&server, &client, &room, &[Part::file("big.pdf", "application/pdf", document)]).await.status();
    assert!(status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    // Anything beyond the largest kind (25 MB) is refused before it is read in full.
    let mut video = webm();
    video.resize(26 * 1024 * 1024, 0);
    let parts = [Part::file("long.webm", "video/webm", video), Part::text("video", "true")];
    problem(attach(&server, &client, &room, &parts).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(everything(&server, &therapist, &room).await.len(), 1, "only the picture that fits was stored");
    server.stop().await;
}

#[tokio::test]
async fn only_members_can_send_or_fetch_attachments() {
    let server = TestServer::spawn().await;
    let Individual { admin, client, therapist, room } = individual(&server).await;
    let outsider = sign_up(&server, "Outsider").await;
    let m = attach(&server, &client, &room, &[Part::file("plan.pdf", "application/pdf", pdf())]).await;
    let m = json_with_status(m, StatusCode::CREATED).await;
    let url = s(&m["attachment"], "url");
    for who in [&outsider, &admin] {
        problem(download(&server, who, &url).await, StatusCode::NOT_FOUND).await;
        let sneaky = attach(&server, who, &room, &[Part::file("x.pdf", "application/pdf", pdf())]).await;
        problem(sneaky, StatusCode::NOT_FOUND).await;
    }
    // A message without an attachment, or a deleted one, has nothing to fetch.
    let text = say(&server, &therapist, &room, "Just words").await;
    let path = format!("/api/v1/messages/{}/attachment", s(&text, "id"));
    problem(download(&server, &client, &path).await, StatusCode::NOT_FOUND).await;
    json_with_status(
        send_empty(&server, Method::DELETE, &format!("/api/v1/messages/{}", s(&m, "id")), &client.token).await,
        StatusCode::OK,
    )
    .await;
    problem(download(&server, &therapist, &url).await, StatusCode::NOT_FOUND).await;
    let page = everything(&server, &therapist, &room).await;
    assert_eq!(page.len(), 2, "the outsiders' attachments were not stored");
    assert_eq!(page[0]["attachment"], Value::Null, "a deleted message keeps no attachment");
    server.stop().await;
}

#[tokio::test]
async fn a_download_is_named_for_the_type_that_was_found() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
    let response = attach(&server, &client, &room, &[Part::file("photo.html", "text/html", gif.clone())]).await;
    let message = json_with_status(response, StatusCode::CREATED).await;
    assert_eq!(s(&message["attachment"], "file_name"), "photo.gif");
    check_download(&server, &therapist, &message, &gif, "image/gif").await;
    server.stop().await;
}
