//! Weekly time windows in a person's own time zone, and how much two
//! people's windows overlap in a given week (DST-correct).

use crate::TimeZone;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone as _, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// Minutes in a week.
const WEEK: i64 = 7 * 24 * 60;

/// Why a window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("{0:?} is not a weekday. Use mon, tue, wed, thu, fri, sat or sun.")]
    Weekday(String),
    #[error("{0:?} is not a time. Use 24-hour HH:MM, such as 17:30.")]
    Time(String),
    #[error("A window must end after it starts.")]
    Order,
}

/// One recurring weekly window, e.g. Monday 17:00–21:00, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyWindow {
    pub weekday: Weekday,
    /// Minutes after local midnight.
    pub start: u16,
    /// Minutes after local midnight; 1440 means midnight at the end of the day.
    pub end: u16,
}

fn parse_weekday(s: &str) -> Result<Weekday, WindowError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Ok(Weekday::Mon),
        "tue" | "tuesday" => Ok(Weekday::Tue),
        "wed" | "wednesday" => Ok(Weekday::Wed),
        "thu" | "thursday" => Ok(Weekday::Thu),
        "fri" | "friday" => Ok(Weekday::Fri),
        "sat" | "saturday" => Ok(Weekday::Sat),
        "sun" | "sunday" => Ok(Weekday::Sun),
        _ => Err(WindowError::Weekday(s.to_owned())),
    }
}

fn parse_minutes(s: &str) -> Result<u16, WindowError> {
    let t = s.trim();
    if t == "24:00" {
        return Ok(1440);
    }
    let (h, m) = t.split_once(':').ok_or_else(|| WindowError::Time(s.to_owned()))?;
    let (h, m): (u16, u16) = (
        h.parse().map_err(|_| WindowError::Time(s.to_owned()))?,
        m.parse().map_err(|_| WindowError::Time(s.to_owned()))?,
    );
    if h > 23 || m > 59 || t.len() != 5 {
        return Err(WindowError::Time(s.to_owned()));
    }
    Ok(h * 60 + m)
}

/// Short weekday name used on the wire.
pub fn weekday_id(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

impl WeeklyWindow {
    /// Parses `("mon", "17:00", "21:00")`.
    pub fn parse(weekday: &str, start: &str, end: &str) -> Result<Self, WindowError> {
        let w = Self { weekday: parse_weekday(weekday)?, start: parse_minutes(start)?, end: parse_minutes(end)? };
        if w.end <= w.start {
            return Err(WindowError::Order);
        }
        Ok(w)
    }

    /// `HH:MM` of the start.
    pub fn start_text(&self) -> String {
        format!("{:02}:{:02}", self.start / 60, self.start % 60)
    }

    /// `HH:MM` of the end.
    pub fn end_text(&self) -> String {
        format!("{:02}:{:02}", self.end / 60, self.end % 60)
    }
}

/// Windows as minute ranges of one concrete week in UTC (Monday 00:00 UTC
/// of the week containing `reference` is minute 0). Ranges never wrap.
pub fn to_utc_week(windows: &[WeeklyWindow], tz: TimeZone, reference: NaiveDate) -> Vec<(i64, i64)> {
    let monday = reference - Duration::days(i64::from(reference.weekday().num_days_from_monday()));
    let anchor = Utc.from_utc_datetime(&monday.and_time(NaiveTime::MIN));
    let mut ranges = Vec::new();
    for w in windows {
        let day = monday + Duration::days(i64::from(w.weekday.num_days_from_monday()));
        let local = |minutes: u16| {
            let naive = day.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes));
            // In a DST gap the earliest valid instant after it; in an overlap the first.
            tz.tz()
                .from_local_datetime(&naive)
                .earliest()
                .or_else(|| tz.tz().from_local_datetime(&(naive + Duration::hours(1))).earliest())
                .map(|t| (t.with_timezone(&Utc) - anchor).num_minutes())
        };
        let (Some(start), Some(end)) = (local(w.start), local(w.end)) else { continue };
        let start = start.rem_euclid(WEEK);
        let len = end - (end - start).div_euclid(WEEK) * WEEK - start;
        let end = start + len.max(0);
        if end <= WEEK {
            ranges.push((start, end));
        } else {
            ranges.push((start, WEEK));
            ranges.push((0, end - WEEK));
        }
    }
    ranges.sort_unstable();
    ranges
}

/// Total minutes two sets of UTC week ranges share.
pub fn overlap_minutes(a: &[(i64, i64)], b: &[(i64, i64)]) -> i64 {
    let mut total = 0;
    for &(a0, a1) in a {
        for &(b0, b1) in b {
            total += (a1.min(b1) - a0.max(b0)).max(0);
        }
    }
    total
}

/// The part of a person's day: for phrases like "evening times".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
}

impl PartOfDay {
    /// "morning", "afternoon", "evening".
    pub fn word(self) -> &'static str {
        match self {
            PartOfDay::Morning => "morning",
            PartOfDay::Afternoon => "afternoon",
            PartOfDay::Evening => "evening",
        }
    }
}

/// Which parts of the local day (in `tz`) the shared UTC ranges fall in.
pub fn parts_of_day(shared: &[(i64, i64)], tz: TimeZone, reference: NaiveDate) -> Vec<PartOfDay> {
    let monday = reference - Duration::days(i64::from(reference.weekday().num_days_from_monday()));
    let anchor = Utc.from_utc_datetime(&monday.and_time(NaiveTime::MIN));
    let mut parts = Vec::new();
    for &(start, end) in shared {
        let mut m = start;
        while m < end {
            let hour = (anchor + Duration::minutes(m)).with_timezone(&tz.tz()).hour();
            let part = match hour {
                5..=11 => PartOfDay::Morning,
                12..=16 => PartOfDay::Afternoon,
                _ => PartOfDay::Evening,
            };
            if !parts.contains(&part) {
                parts.push(part);
            }
            m += 30;
        }
    }
    parts.sort_unstable();
    parts
}

/// The ranges two sets of UTC week ranges share.
pub fn shared_ranges(a: &[(i64, i64)], b: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for &(a0, a1) in a {
        for &(b0, b1) in b {
            let (s, e) = (a0.max(b0), a1.min(b1));
            if e > s {
                out.push((s, e));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    #[test]
    fn parses_windows() {
        let w = WeeklyWindow::parse("mon", "17:00", "21:00").unwrap();
        assert_eq!((w.weekday, w.start, w.end), (Weekday::Mon, 1020, 1260));
        assert_eq!(w.start_text(), "17:00");
        assert!(WeeklyWindow::parse("mon", "21:00", "17:00").is_err());
        assert!(WeeklyWindow::parse("someday", "10:00", "11:00").is_err());
        assert!(WeeklyWindow::parse("mon", "25:00", "26:00").is_err());
        assert!(WeeklyWindow::parse("mon", "9:00", "10:00").is_err());
        assert!(WeeklyWindow::parse("fri", "22:00", "24:00").is_ok());
    }

    #[test]
    fn overlap_across_time_zones() {
        // 17:00–21:00 in Los Angeles is 20:00–24:00 in New York (both on daylight time in July).
        let july = NaiveDate::from_ymd_opt(2026, 7, 15).unwrap();
        let la = to_utc_week(&[WeeklyWindow::parse("mon", "17:00", "21:00").unwrap()], tz("America/Los_Angeles"), july);
        let ny = to_utc_week(&[WeeklyWindow::parse("mon", "19:00", "22:00").unwrap()], tz("America/New_York"), july);
        assert_eq!(overlap_minutes(&la, &ny), 120);
    }

    #[test]
    fn daylight_saving_moves_the_overlap() {
        // London 18:00–20:00 vs New York 13:00–15:00 on a Tuesday:
        // in late March (US already on DST, UK not) they overlap one hour; in July two.
        let london = [WeeklyWindow::parse("tue", "18:00", "20:00").unwrap()];
        let new_york = [WeeklyWindow::parse("tue", "13:00", "15:00").unwrap()];
        let march = NaiveDate::from_ymd_opt(2026, 3, 17).unwrap();
        let july = NaiveDate::from_ymd_opt(2026, 7, 14).unwrap();
        let m = overlap_minutes(
            &to_utc_week(&london, tz("Europe/London"), march),
            &to_utc_week(&new_york, tz("America/New_York"), march),
        );
        let j = overlap_minutes(
            &to_utc_week(&london, tz("Europe/London"), july),
            &to_utc_week(&new_york, tz("America/New_York"), july),
        );
        assert_eq!((m, j), (60, 120));
    }

    #[test]
    fn windows_that_cross_the_week_boundary_wrap() {
        // Sunday 20:00–23:00 in Tokyo is Sunday 11:00–14:00 UTC; Monday 08:00 in Tokyo is Sunday 23:00 UTC.
        let d = NaiveDate::from_ymd_opt(2026, 7, 15).unwrap();
        let r = to_utc_week(&[WeeklyWindow::parse("mon", "08:00", "10:00").unwrap()], tz("Asia/Tokyo"), d);
        assert_eq!(r, vec![(0, 60), (WEEK - 60, WEEK)]);
    }

    #[test]
    fn parts_of_day_are_in_the_viewers_zone() {
        let d = NaiveDate::from_ymd_opt(2026, 7, 15).unwrap();
        let r = to_utc_week(&[WeeklyWindow::parse("wed", "18:00", "20:00").unwrap()], tz("Europe/Paris"), d);
        assert_eq!(parts_of_day(&r, tz("Europe/Paris"), d), vec![PartOfDay::Evening]);
        assert_eq!(parts_of_day(&r, tz("America/New_York"), d), vec![PartOfDay::Afternoon]);
    }
}
