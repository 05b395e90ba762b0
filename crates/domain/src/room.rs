//! Message rooms: kinds, message text, attachments and reply expectations.

use crate::TimeZone;
use chrono::{DateTime, Datelike, Days, NaiveTime, Utc, Weekday};
use std::fmt;
use std::str::FromStr;

/// The longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// Who a room is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomKind {
    /// One client and their therapist.
    Individual,
    /// Both partners and the couple's therapist.
    Couple,
    /// One partner alone with the couple's therapist, under the couple's policy.
    PrivateChannel,
}

/// Whether a message created at `created_at` is part of the history of a member
/// whose history starts at `visible_from` (`None`: the whole history).
pub fn in_history(
    visible_from: Option<chrono::DateTime<chrono::Utc>>,
    created_at: chrono::DateTime<chrono::Utc>,
) -> bool {
    visible_from.is_none_or(|from| created_at >= from)
}

impl RoomKind {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Individual => "individual",
            RoomKind::Couple => "couple",
            RoomKind::PrivateChannel => "private_channel",
        }
    }
}

impl fmt::Display for RoomKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoomKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [RoomKind::Individual, RoomKind::Couple, RoomKind::PrivateChannel]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// A message's text: not blank, at most [`MAX_MESSAGE_CHARS`] characters.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageBody(String);

/// Why a message's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageBodyError {
    #[error("Write something before sending.")]
    Empty,
    #[error("Messages can be up to 10,000 characters; this one has {0}. Please split it in two.")]
    TooLong(usize),
}

impl MessageBody {
    /// Validates message text, keeping it exactly as written (only surrounding
    /// blank lines are dropped) so the record says what was sent.
    pub fn parse(input: &str) -> Result<Self, MessageBodyError> {
        let text = input.trim_matches(|c: char| c == '\n' || c == '\r');
        if text.trim().is_empty() {
            return Err(MessageBodyError::Empty);
        }
        let chars = text.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return Err(MessageBodyError::TooLong(chars));
        }
        Ok(Self(text.to_owned()))
    }

    /// Text that may be empty because an attachment carries the message.
    pub fn parse_caption(input: &str) -> Result<Self, MessageBodyError> {
        match Self::parse(input) {
            Err(MessageBodyError::Empty) => Ok(Self(String::new())),
            other => other,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Message text is health data: never in logs.
        write!(f, "MessageBody({} chars)", self.0.chars().count())
    }
}

/// What an attachment is, judged by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachmentKind {
    /// A voice message recorded in the browser.
    Audio,
    /// A video message recorded in the browser.
    Video,
    /// A picture.
    Image,
    /// A PDF document.
    Pdf,
}

impl AttachmentKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Audio => "audio",
            AttachmentKind::Video => "video",
            AttachmentKind::Image => "image",
            AttachmentKind::Pdf => "pdf",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [AttachmentKind::Audio, AttachmentKind::Video, AttachmentKind::Image, AttachmentKind::Pdf]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// The largest attachment of this kind, in bytes.
    pub fn max_bytes(self) -> usize {
        match self {
            AttachmentKind::Audio => 10 * 1024 * 1024,
            AttachmentKind::Video => 25 * 1024 * 1024,
            AttachmentKind::Image => 5 * 1024 * 1024,
            AttachmentKind::Pdf => 10 * 1024 * 1024,
        }
    }
}

/// The largest attachment of any kind.
pub const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;

/// Works out what a file is from its first bytes, ignoring what the sender
/// claimed: returns its kind and the content type it is served with.
/// `wants_video` says whether a WebM or MP4 container was recorded as video.
pub fn sniff_attachment(bytes: &[u8], wants_video: bool) -> Option<(AttachmentKind, &'static str)> {
    let av = |audio: &'static str, video: &'static str| {
        if wants_video {
            (AttachmentKind::Video, video)
        } else {
            (AttachmentKind::Audio, audio)
        }
    };
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some((AttachmentKind::Image, "image/png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some((AttachmentKind::Image, "image/jpeg"))
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some((AttachmentKind::Image, "image/webp"))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some((AttachmentKind::Image, "image/gif"))
    } else if bytes.starts_with(b"%PDF-") {
        Some((AttachmentKind::Pdf, "application/pdf"))
    } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some(av("audio/webm", "video/webm"))
    } else if bytes.starts_with(b"OggS") {
        Some((AttachmentKind::Audio, "audio/ogg"))
    } else if bytes.len() > 12 && &bytes[4..8] == b"ftyp" {
        Some(av("audio/mp4", "video/mp4"))
    } else if bytes.starts_with(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        Some((AttachmentKind::Audio, "audio/mpeg"))
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        Some((AttachmentKind::Audio, "audio/wav"))
    } else {
        None
    }
}

/// A file name safe to put in `Content-Disposition`: letters, digits, dot,
/// dash and underscore only, no leading dot, at most 80 characters.
pub fn safe_file_name(name: &str, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').chars().take(80).collect::<String>();
    if cleaned.chars().any(|c| c.is_ascii_alphanumeric()) {
        cleaned
    } else {
        fallback.to_owned()
    }
}

/// The file name an attachment is offered under: [`safe_file_name`], ending in an
/// extension of the type its bytes were found to be (`photo.gif` for a GIF sent as
/// `photo.html`), so a download never opens as something else.
pub fn attachment_file_name(name: &str, fallback: &str, content_type: &str) -> String {
    let extensions: &[&str] = match content_type {
        "image/png" => &["png"],
        "image/jpeg" => &["jpg", "jpeg"],
        "image/webp" => &["webp"],
        "image/gif" => &["gif"],
        "application/pdf" => &["pdf"],
        "audio/webm" | "video/webm" => &["webm"],
        "audio/ogg" => &["ogg", "oga", "opus"],
        "audio/mp4" => &["m4a", "mp4"],
        "video/mp4" => &["mp4", "m4v"],
        "audio/mpeg" => &["mp3"],
        "audio/wav" => &["wav"],
        _ => &[],
    };
    let safe = safe_file_name(name, fallback);
    let (stem, extension) = match safe.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext.to_ascii_lowercase())),
        _ => (safe.as_str(), None),
    };
    match (extension, extensions.first()) {
        (Some(ext), _) if extensions.contains(&ext.as_str()) => safe.clone(),
        (_, Some(canonical)) => format!("{stem}.{canonical}"),
        (_, None) => safe.clone(),
    }
}

/// When the day's work ends, for reply expectations.
pub const END_OF_WORKING_DAY: NaiveTime = match NaiveTime::from_hms_opt(17, 0, 0) {
    Some(t) => t,
    None => panic!("valid time"),
};

/// When a therapist is expected to have replied to a message sent at `sent`:
/// the end (17:00 in the therapist's zone) of the `working_days`-th working day
/// (Monday to Friday) after the day it was sent.
pub fn reply_due_by(sent: DateTime<Utc>, zone: TimeZone, working_days: u32) -> DateTime<Utc> {
    let tz = zone.tz();
    let mut day = sent.with_timezone(&tz).date_naive();
    let mut left = working_days.max(1);
    while left > 0 {
        day = day + Days::new(1);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    let local = day.and_time(END_OF_WORKING_DAY);
    use chrono::TimeZone as _;
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        // 17:00 never falls in a DST gap in practice; an hour later is the honest answer if it did.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
            .map_or(sent, |t| t.with_timezone(&Utc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_end_in_the_type_that_was_found() {
        assert_eq!(attachment_file_name("photo.html", "picture", "image/gif"), "photo.gif");
        assert_eq!(attachment_file_name("walk.JPEG", "picture", "image/jpeg"), "walk.JPEG");
        assert_eq!(attachment_file_name("notes", "document.pdf", "application/pdf"), "notes.pdf");
        assert_eq!(attachment_file_name("", "voice-message", "audio/webm"), "voice-message.webm");
        assert_eq!(attachment_file_name("report.pdf.exe", "document.pdf", "application/pdf"), "report.pdf.pdf");
        assert_eq!(attachment_file_name("clip.mp4", "video-message", "video/mp4"), "clip.mp4");
    }
    use chrono::TimeZone as _;

    #[test]
    fn message_text_must_have_words_and_fit() {
        assert_eq!(MessageBody::parse("  \n \n"), Err(MessageBodyError::Empty));
        assert_eq!(MessageBody::parse("").unwrap_err(), MessageBodyError::Empty);
        assert_eq!(MessageBody::parse("\nhello there  \n").unwrap().as_str(), "hello there  ");
        assert!(MessageBody::parse(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok(), "counts characters, not bytes");
        assert_eq!(MessageBody::parse(&"a".repeat(MAX_MESSAGE_CHARS + 1)), Err(MessageBodyError::TooLong(10_001)));
        assert_eq!(MessageBody::parse_caption(" ").unwrap().as_str(), "");
        assert!(!format!("{:?}", MessageBody::parse("secret").unwrap()).contains("secret"));
    }

    #[test]
    fn attachments_are_judged_by_their_bytes() {
        assert_eq!(sniff_attachment(b"%PDF-1.7\n", false).unwrap().1, "application/pdf");
        assert_eq!(
            sniff_attachment(&[0x1A, 0x45, 0xDF, 0xA3, 1, 2], false).unwrap(),
            (AttachmentKind::Audio, "audio/webm")
        );
        assert_eq!(
            sniff_attachment(&[0x1A, 0x45, 0xDF, 0xA3, 1, 2], true).unwrap(),
            (AttachmentKind::Video, "video/webm")
        );
        assert_eq!(sniff_attachment(b"OggS\0\x02", false).unwrap().0, AttachmentKind::Audio);
        assert_eq!(sniff_attachment(b"\x89PNG\r\n\x1a\n....", false).unwrap().0, AttachmentKind::Image);
        assert_eq!(sniff_attachment(b"<html><script>alert(1)</script>", false), None);
        assert_eq!(sniff_attachment(b"MZ\x90\0", false), None, "programs are refused");
    }

    #[test]
    fn file_names_are_made_safe_for_headers() {
        assert_eq!(safe_file_name("../../etc/passwd", "file"), "passwd");
        assert_eq!(safe_file_name("my \"scan\";.pdf", "file"), "my__scan__.pdf");
        assert_eq!(safe_file_name(".htaccess", "file"), "htaccess");
        assert_eq!(safe_file_name("\r\n", "file"), "file");
    }

    #[test]
    fn replies_are_due_by_the_end_of_the_next_working_day_in_the_therapists_zone() {
        let la = TimeZone::parse("America/Los_Angeles").unwrap();
        // Wednesday 2026-11-25 10:00 in Los Angeles → Thursday 17:00 there.
        let sent =
            chrono_tz::America::Los_Angeles.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap().with_timezone(&Utc);
        let due = reply_due_by(sent, la, 1);
        assert_eq!(due, chrono_tz::America::Los_Angeles.with_ymd_and_hms(2026, 11, 26, 17, 0, 0).unwrap());
        // Friday evening → Monday.
        let fri = chrono_tz::America::Los_Angeles.with_ymd_and_hms(2026, 11, 27, 21, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(
            reply_due_by(fri, la, 1),
            chrono_tz::America::Los_Angeles.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap()
        );
        // Two working days from Thursday → Monday.
        let thu = chrono_tz::America::Los_Angeles.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(
            reply_due_by(thu, la, 2),
            chrono_tz::America::Los_Angeles.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap()
        );
    }

    #[test]
    fn reply_expectations_follow_daylight_saving() {
        let ny = TimeZone::parse("America/New_York").unwrap();
        // Friday 2027-03-12, DST starts Sunday 14th: Monday 17:00 is EDT (UTC-4).
        let sent = Utc.with_ymd_and_hms(2027, 3, 12, 15, 0, 0).unwrap();
        assert_eq!(reply_due_by(sent, ny, 1), Utc.with_ymd_and_hms(2027, 3, 15, 21, 0, 0).unwrap());
    }
}
