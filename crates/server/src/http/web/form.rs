//! Long forms with repeated fields (checkbox groups, rows of licences or
//! time windows): reading the posted pairs, and showing the use cases'
//! field errors next to the right inputs.

use rapport_domain::FieldErrors;
use std::borrow::Cow;

/// A posted form as its name–value pairs, in order. `CsrfForm<Vec<(String, String)>>`
/// keeps every value of a repeated name, which a struct would not.
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The first value of `name`, or "".
    pub fn one(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name` (a checkbox group).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// How many numbered rows `prefix[i].…` were posted, at most `max`.
    pub fn rows(&self, prefix: &str, max: usize) -> usize {
        self.0
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(prefix)?.strip_prefix('[')?.split_once(']')?.0.parse::<usize>().ok())
            .filter(|i| *i < max)
            .map(|i| i + 1)
            .max()
            .unwrap_or(0)
    }
}

/// Splits "en, es fr" into codes.
pub fn split_codes(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An element id for a field key: `licenses[0].type` → `licenses-0-type`.
pub fn dom_id(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// One line of the summary at the top of a form: a link to the field.
pub struct ErrorLink {
    pub target: String,
    pub text: String,
}

/// Field errors as a form shows them.
#[derive(Default)]
pub struct FormErrors {
    errors: FieldErrors,
    /// A message for the whole form (e.g. a conflict).
    pub form: Option<Cow<'static, str>>,
}

impl FormErrors {
    pub fn new(errors: FieldErrors) -> Self {
        Self { errors, form: None }
    }

    pub fn whole_form(message: impl Into<Cow<'static, str>>) -> Self {
        Self { errors: FieldErrors::new(), form: Some(message.into()) }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.form.is_none()
    }

    // Keys arrive from templates as `&str` or `String`, hence `AsRef`.
    pub fn has(&self, key: impl AsRef<str>) -> bool {
        !self.errors.get(key.as_ref()).is_empty()
    }

    pub fn get(&self, key: impl AsRef<str>) -> &[String] {
        self.errors.get(key.as_ref())
    }

    /// The id of the element holding a field's messages.
    pub fn error_id(&self, key: impl AsRef<str>) -> String {
        format!("{}-error", dom_id(key.as_ref()))
    }

    /// The `aria-describedby` value for a field: its hint (if any) and its messages (if any).
    pub fn describedby(&self, key: impl AsRef<str>, hint_id: impl AsRef<str>) -> String {
        let (key, hint_id) = (key.as_ref(), hint_id.as_ref());
        let mut ids = Vec::new();
        if !hint_id.is_empty() {
            ids.push(hint_id.to_owned());
        }
        if self.has(key) {
            ids.push(self.error_id(key));
        }
        ids.join(" ")
    }

    /// Every message, labelled, linking to its field, in the order the
    /// fields appear: `place` gives each key its label and its rank on the page.
    pub fn summary(&self, place: impl Fn(&str) -> (u32, Cow<'static, str>)) -> Vec<ErrorLink> {
        let mut keyed: Vec<(u32, &str, &[String])> =
            self.errors.iter().map(|(key, messages)| (place(key).0, key, messages)).collect();
        keyed.sort_by_key(|(rank, key, _)| (*rank, *key));
        keyed
            .into_iter()
            .flat_map(|(_, key, messages)| {
                let label = place(key).1;
                messages.iter().map(move |m| ErrorLink { target: dom_id(key), text: format!("{label}: {m}") })
            })
            .collect()
    }
}

/// Where each row the use case saw came from on the form, so that its
/// errors (`licenses[1].number`) land on the right row when blank rows
/// were skipped.
pub struct RowMap {
    /// The use case's field name, e.g. `licenses`.
    pub field: &'static str,
    /// For each submitted row, its number on the form.
    pub form_rows: Vec<usize>,
}

impl RowMap {
    pub fn new(field: &'static str) -> Self {
        Self { field, form_rows: Vec::new() }
    }

    /// Renames `field[i]…` keys to the form's row numbers.
    pub fn remap(&self, errors: FieldErrors) -> FieldErrors {
        let prefix = format!("{}[", self.field);
        let mut out = FieldErrors::new();
        for (key, messages) in errors.iter() {
            let renamed = key
                .strip_prefix(&prefix)
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest)))
                .and_then(|(i, rest)| Some(format!("{prefix}{}]{rest}", self.form_rows.get(i)?)));
            let key = renamed.as_deref().unwrap_or(key);
            for m in messages {
                out.add(key, m.clone());
            }
        }
        out
    }
}

/// Replaces the message for `key` (a required field left empty deserves
/// plainer words than a parser's).
pub fn replace_message(errors: FieldErrors, key: &str, message: &str) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (k, messages) in errors.iter() {
        if k == key {
            out.add(k, message);
        } else {
            for m in messages {
                out.add(k, m.clone());
            }
        }
    }
    out
}

/// Every message except those for `key`.
pub fn without(errors: FieldErrors, key: &str) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (k, messages) in errors.iter().filter(|(k, _)| *k != key) {
        for m in messages {
            out.add(k, m.clone());
        }
    }
    out
}

/// Folds `field[i]` messages into `field` (one text box holds the whole list).
pub fn fold_list(errors: FieldErrors, field: &str) -> FieldErrors {
    let prefix = format!("{field}[");
    let mut out = FieldErrors::new();
    for (k, messages) in errors.iter() {
        let k = if k.starts_with(&prefix) { field } else { k };
        for m in messages {
            out.add(k, m.clone());
        }
    }
    out
}

/// The choices of a time-zone `<select>`: canonical zones grouped by
/// region with today's offset, and the chosen one ticked (kept as an
/// extra choice when it is an older alias the list leaves out).
pub struct ZonePicker {
    pub groups: Vec<rapport_domain::time_zones::ZoneGroup>,
    pub selected: String,
    /// The chosen zone when the list does not offer it: (name, label).
    pub unlisted: Option<(String, String)>,
}

impl ZonePicker {
    pub fn new(selected: &str) -> Self {
        use rapport_domain::time_zones::{is_offered, zone_choices, zone_label};
        let now = chrono::Utc::now();
        let unlisted = match rapport_domain::TimeZone::parse(selected) {
            Ok(zone) if !is_offered(zone.name()) => Some((zone.name().to_owned(), zone_label(zone, now))),
            _ => None,
        };
        Self { groups: zone_choices(now), selected: selected.trim().to_owned(), unlisted }
    }

    pub fn is_selected(&self, name: &str) -> bool {
        self.selected == name
    }
}

/// One checkbox (or option) of a group.
pub struct Choice {
    pub id: &'static str,
    pub label: String,
    pub checked: bool,
}

/// "couples therapy" → "Couples therapy": vocabulary labels read mid-sentence; a list item starts one.
pub fn sentence_case(label: &str) -> String {
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Choices from a vocabulary, ticking those in `chosen`.
pub fn choices<T: Copy>(
    all: &[T],
    id: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    chosen: &[String],
) -> Vec<Choice> {
    all.iter()
        .map(|t| Choice { id: id(*t), label: sentence_case(label(*t)), checked: chosen.iter().any(|c| c == id(*t)) })
        .collect()
}

/// A weekly window row as typed.
#[derive(Clone, Default)]
pub struct WindowRow {
    pub weekday: String,
    pub start: String,
    pub end: String,
}

impl WindowRow {
    pub fn is_blank(&self) -> bool {
        self.weekday.trim().is_empty() && self.start.trim().is_empty() && self.end.trim().is_empty()
    }

    pub fn is_partial(&self) -> bool {
        !self.is_blank() && [&self.weekday, &self.start, &self.end].iter().any(|v| v.trim().is_empty())
    }
}

/// A time-window row with its place on the form, for templates.
pub struct NumberedWindow {
    /// The use case's name for the list, e.g. `weekly_availability`.
    pub field: &'static str,
    pub index: usize,
    pub row: WindowRow,
}

impl NumberedWindow {
    /// The use case's key for this row's errors: `weekly_availability[2]`.
    pub fn key(&self) -> String {
        format!("{}[{}]", self.field, self.index)
    }

    /// The row's element id, which the error summary links to.
    pub fn row_id(&self) -> String {
        dom_id(&self.key())
    }

    pub fn id(&self, part: &str) -> String {
        format!("{}-{part}", self.row_id())
    }

    pub fn number_on_form(&self) -> usize {
        self.index + 1
    }
}

/// Rows numbered for a template.
pub fn numbered(field: &'static str, rows: &[WindowRow]) -> Vec<NumberedWindow> {
    rows.iter().cloned().enumerate().map(|(index, row)| NumberedWindow { field, index, row }).collect()
}

/// Days of the week for a select: (value, label).
pub const WEEKDAYS: &[(&str, &str)] = &[
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// Reads rows `prefix[i].weekday/start/end` and pads to `shown` rows.
pub fn window_rows(form: &FormFields, prefix: &str, max: usize, shown: usize) -> Vec<WindowRow> {
    let mut rows: Vec<WindowRow> = (0..form.rows(prefix, max))
        .map(|i| WindowRow {
            weekday: form.one(&format!("{prefix}[{i}].weekday")).to_owned(),
            start: form.one(&format!("{prefix}[{i}].start")).to_owned(),
            end: form.one(&format!("{prefix}[{i}].end")).to_owned(),
        })
        .collect();
    if rows.len() < shown {
        rows.resize(shown, WindowRow::default());
    }
    rows
}

/// The rows that are filled in, for the use case, with where each came from.
/// A half-filled row is passed on too, so the use case refuses it; its
/// message is then replaced by a plainer one.
pub fn filled_windows(rows: &[WindowRow], field: &'static str) -> (Vec<rapport_app::WindowInput>, RowMap, Vec<usize>) {
    let mut map = RowMap::new(field);
    let mut partial = Vec::new();
    let mut input = Vec::new();
    for (i, row) in rows.iter().enumerate().filter(|(_, r)| !r.is_blank()) {
        if row.is_partial() {
            partial.push(i);
        }
        map.form_rows.push(i);
        input.push(rapport_app::WindowInput {
            weekday: row.weekday.trim().to_owned(),
            start: row.start.trim().to_owned(),
            end: row.end.trim().to_owned(),
        });
    }
    (input, map, partial)
}

/// Remaps window errors to form rows and explains half-filled rows plainly.
pub fn window_errors(errors: FieldErrors, map: &RowMap, partial: &[usize]) -> FieldErrors {
    let mut errors = map.remap(errors);
    for i in partial {
        errors = replace_message(
            errors,
            &format!("{}[{i}]", map.field),
            "Please choose a day and give both a start and an end time, or leave the whole row empty.",
        );
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormFields {
        FormFields::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn reads_repeated_fields_and_rows() {
        let f = form(&[("specialties", "couples"), ("specialties", "grief"), ("licenses[2].number", "1")]);
        assert_eq!(f.all("specialties"), ["couples", "grief"]);
        assert_eq!(f.one("specialties"), "couples");
        assert_eq!(f.one("missing"), "");
        assert!(f.checked("specialties"));
        assert_eq!(f.rows("licenses", 20), 3);
        assert_eq!(f.rows("licenses", 2), 0, "rows past the limit are ignored");
        assert_eq!(f.rows("weekly_availability", 7), 0);
    }

    #[test]
    fn ids_are_safe_for_html() {
        assert_eq!(dom_id("licenses[0].type"), "licenses-0-type");
        assert_eq!(dom_id("preferences.time_windows[3]"), "preferences-time_windows-3");
        assert_eq!(dom_id("professional_name"), "professional_name");
    }

    #[test]
    fn errors_follow_rows_past_blank_ones() {
        let map = RowMap { field: "licenses", form_rows: vec![0, 2] };
        let mut e = FieldErrors::new();
        e.add("licenses[1].number", "This is required.");
        e.add("licenses", "Please add at least one licence.");
        let e = map.remap(e);
        assert_eq!(e.get("licenses[2].number"), ["This is required."]);
        assert_eq!(e.get("licenses"), ["Please add at least one licence."]);
    }

    #[test]
    fn splits_language_codes() {
        assert_eq!(split_codes(" en, es ;fr  "), ["en", "es", "fr"]);
        assert!(split_codes(" , ").is_empty());
    }
}
