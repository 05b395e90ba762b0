//! Matching people with therapists: hard rules first (licence, capacity,
//! language, couples work, modality), then a deterministic score, and
//! reasons in plain words for the few shown.

use crate::availability::{overlap_minutes, parts_of_day, shared_ranges};
use crate::place::{Jurisdiction, Language};
use crate::taxonomy::{Approach, Concern, Gender, Modality, Specialty};
use crate::{AccountId, TimeZone};
use chrono::NaiveDate;
use std::cmp::Reverse;

/// A licence as matching sees it.
#[derive(Debug, Clone)]
pub struct LicenseSummary {
    pub jurisdiction: Jurisdiction,
    pub expires_on: NaiveDate,
    /// Checked by an admin.
    pub verified: bool,
}

/// A therapist who might be matched.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: AccountId,
    pub professional_name: String,
    pub approved: bool,
    pub licenses: Vec<LicenseSummary>,
    pub specialties: Vec<Specialty>,
    pub approaches: Vec<Approach>,
    pub languages: Vec<Language>,
    pub modalities: Vec<Modality>,
    pub works_with_couples: bool,
    pub gender: Option<Gender>,
    /// Weekly availability as UTC minute ranges of the reference week.
    pub availability_utc: Vec<(i64, i64)>,
    pub capacity: u32,
    pub active_clients: u32,
    pub accepting: bool,
    /// Whether they have a profile photo.
    pub has_photo: bool,
}

/// Whether one person or a couple is looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekerKind {
    Individual,
    Couple,
}

/// What someone looking for a therapist told us.
#[derive(Debug, Clone)]
pub struct Seeker {
    pub kind: SeekerKind,
    /// Where each person lives (both partners for a couple).
    pub jurisdictions: Vec<Jurisdiction>,
    pub languages: Vec<Language>,
    pub concerns: Vec<Concern>,
    pub modalities: Vec<Modality>,
    pub approaches: Vec<Approach>,
    pub gender: Option<Gender>,
    /// Their time windows as UTC minute ranges of the reference week.
    pub windows_utc: Vec<(i64, i64)>,
    pub time_zone: TimeZone,
    /// Therapists not to suggest (e.g. the one they are leaving).
    pub exclude: Vec<AccountId>,
}

/// One suggested therapist.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub therapist_id: AccountId,
    pub professional_name: String,
    /// 0–100; higher fits better.
    pub score: u32,
    pub reasons: Vec<String>,
    /// Whether they have a profile photo.
    pub has_photo: bool,
}

/// How well a suggestion fits, in words: a bare number reads like a grade.
/// Every suggestion already passes every hard rule; the fit says how much
/// more than that lines up (docs/matching.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// 70 or more.
    Strong,
    /// 50 to 69.
    Good,
    /// Under 50.
    Possible,
}

impl Fit {
    /// The fit for a score from 0 to 100.
    pub fn of(score: u32) -> Self {
        match score {
            70.. => Fit::Strong,
            50..=69 => Fit::Good,
            _ => Fit::Possible,
        }
    }

    /// "Strong fit", "Good fit", "Possible fit".
    pub fn words(self) -> &'static str {
        match self {
            Fit::Strong => "Strong fit",
            Fit::Good => "Good fit",
            Fit::Possible => "Possible fit",
        }
    }

    /// A stable id for styling: `strong`, `good`, `possible`.
    pub fn id(self) -> &'static str {
        match self {
            Fit::Strong => "strong",
            Fit::Good => "good",
            Fit::Possible => "possible",
        }
    }
}

/// Why nothing matched, naming the real limit. A hint only ever suggests
/// loosening a preference the person actually set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoMatchHint {
    /// No approved therapist is licensed where they live (for a couple, in every partner's place).
    NotLicensedThere { places: Vec<String> },
    /// Some are licensed there, but none of them works with couples.
    NoCouplesWorkThere { places: Vec<String> },
    /// Everyone licensed there is full right now.
    EveryoneFull { places: Vec<String> },
    /// The only ones with space there are ones already suggested or chosen.
    NoOneElse { places: Vec<String> },
    /// Therapists with space there speak other languages (named).
    OtherLanguages { places: Vec<String>, wanted: Vec<String>, spoken: Vec<String> },
    /// Therapists with space there offer other ways to meet than the ones asked for (named).
    OtherWaysToMeet { places: Vec<String>, wanted: Vec<String>, offered: Vec<String> },
}

/// "New York"; "both California and Nevada".
fn places_words(places: &[String]) -> String {
    match places {
        [one] => one.clone(),
        [a, b] => format!("both {a} and {b}"),
        _ => join_words(places),
    }
}

fn or_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

impl NoMatchHint {
    /// Plain words for the person.
    pub fn advice(&self) -> String {
        match self {
            NoMatchHint::NotLicensedThere { places } => format!(
                "No therapist on Rapport is licensed in {} yet. Therapists can only work with people where they're licensed, so we won't suggest anyone who isn't.",
                places_words(places)
            ),
            NoMatchHint::NoCouplesWorkThere { places } => format!(
                "The therapists licensed in {} don't work with couples yet. If one of you would like support on your own for now, you can change your answers to \"Just me\".",
                places_words(places)
            ),
            NoMatchHint::EveryoneFull { places } => format!(
                "Every therapist licensed in {} is full at the moment. Places open up often, so please look again soon.",
                places_words(places)
            ),
            NoMatchHint::NoOneElse { places } => format!(
                "Right now there is no other therapist with space who is licensed in {}.",
                places_words(places)
            ),
            NoMatchHint::OtherLanguages { places, wanted, spoken } => format!(
                "No therapist with space in {} speaks {} yet. Some speak {}: if you're comfortable in one of those, adding it would open up more therapists.",
                places_words(places),
                or_words(wanted),
                or_words(spoken)
            ),
            NoMatchHint::OtherWaysToMeet { places, wanted, offered } => format!(
                "No therapist with space in {} offers {} yet. Some offer {}: if that would work for you, choosing it too would open up more therapists.",
                places_words(places),
                or_words(wanted),
                or_words(offered)
            ),
        }
    }
}

/// The reference date a candidate's availability was computed for and today.
#[derive(Debug, Clone, Copy)]
pub struct MatchDay {
    pub today: NaiveDate,
}

fn licensed_for(c: &Candidate, place: &Jurisdiction, today: NaiveDate) -> bool {
    c.licenses.iter().any(|l| l.verified && l.expires_on >= today && l.jurisdiction.covers(place))
}

fn licensed_everywhere(c: &Candidate, s: &Seeker, today: NaiveDate) -> bool {
    !s.jurisdictions.is_empty() && s.jurisdictions.iter().all(|j| licensed_for(c, j, today))
}

fn has_room(c: &Candidate) -> bool {
    c.approved && c.accepting && c.active_clients < c.capacity
}

fn speaks(c: &Candidate, s: &Seeker) -> bool {
    c.languages.iter().any(|l| s.languages.contains(l))
}

fn offers(c: &Candidate, s: &Seeker) -> bool {
    s.modalities.is_empty() || c.modalities.iter().any(|m| s.modalities.contains(m))
}

/// Whether a therapist passes every hard rule for this seeker.
pub fn is_eligible(c: &Candidate, s: &Seeker, day: MatchDay) -> bool {
    eligible(c, s, day.today)
}

fn eligible(c: &Candidate, s: &Seeker, today: NaiveDate) -> bool {
    has_room(c)
        && !s.exclude.contains(&c.id)
        && (s.kind == SeekerKind::Individual || c.works_with_couples)
        && speaks(c, s)
        && offers(c, s)
        && licensed_everywhere(c, s, today)
}

fn concern_coverage(c: &Candidate, s: &Seeker) -> f64 {
    if s.concerns.is_empty() {
        return 0.5;
    }
    let covered = s.concerns.iter().filter(|k| k.specialties().iter().any(|sp| c.specialties.contains(sp))).count();
    covered as f64 / s.concerns.len() as f64
}

/// The score, from parts that each explain themselves.
fn score(c: &Candidate, s: &Seeker) -> f64 {
    let mut total = 40.0 * concern_coverage(c, s);
    if s.kind == SeekerKind::Couple && c.specialties.contains(&Specialty::Couples) {
        total += 10.0;
    }
    if !s.approaches.is_empty() && c.approaches.iter().any(|a| s.approaches.contains(a)) {
        total += 10.0;
    }
    if s.gender.is_some() && c.gender == s.gender {
        total += 10.0;
    }
    total += if s.windows_utc.is_empty() {
        10.0
    } else {
        20.0 * (overlap_minutes(&c.availability_utc, &s.windows_utc) as f64 / 180.0).min(1.0)
    };
    // Spread new clients fairly: more room, more points.
    let free = 1.0 - f64::from(c.active_clients) / f64::from(c.capacity.max(1));
    total + 10.0 * free
}

fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

fn reasons(c: &Candidate, s: &Seeker, day: MatchDay) -> Vec<String> {
    let mut out = Vec::new();
    let mut places: Vec<String> = s.jurisdictions.iter().map(|j| j.name()).collect();
    places.dedup();
    out.push(format!("Licensed in {}", join_words(&places)));
    if s.kind == SeekerKind::Couple && c.specialties.contains(&Specialty::Couples) {
        out.push("Specialises in couples therapy".to_owned());
    }
    let mut helps: Vec<String> = Vec::new();
    for concern in &s.concerns {
        for sp in concern.specialties() {
            if *sp != Specialty::Couples && c.specialties.contains(sp) && !helps.iter().any(|h| h == sp.short()) {
                helps.push(sp.short().to_owned());
            }
        }
    }
    helps.truncate(2);
    if !helps.is_empty() {
        out.push(format!("Works with {}", join_words(&helps)));
    }
    let approaches: Vec<String> =
        c.approaches.iter().filter(|a| s.approaches.contains(a)).map(|a| a.label().to_owned()).collect();
    if !approaches.is_empty() {
        out.push(format!("Uses {}", join_words(&approaches)));
    }
    if !s.windows_utc.is_empty() {
        let shared = shared_ranges(&c.availability_utc, &s.windows_utc);
        let parts: Vec<String> =
            parts_of_day(&shared, s.time_zone, day.today).into_iter().map(|p| p.word().to_owned()).collect();
        if !parts.is_empty() {
            out.push(format!("Has {} times that fit yours", join_words(&parts)));
        }
    }
    let shared_languages: Vec<&Language> = c.languages.iter().filter(|l| s.languages.contains(l)).collect();
    if shared_languages.iter().all(|l| l.code() != "en") {
        if let Some(l) = shared_languages.first() {
            out.push(format!("Speaks {}", l.name()));
        }
    }
    let ways: Vec<String> = c
        .modalities
        .iter()
        .filter(|m| s.modalities.is_empty() || s.modalities.contains(m))
        .map(|m| m.label().to_owned())
        .collect();
    if !ways.is_empty() {
        out.push(format!("Offers {}", join_words(&ways)));
    }
    out
}

/// The best `limit` therapists for the seeker, best first. The same inputs
/// always give the same answer.
pub fn find_matches(seeker: &Seeker, candidates: &[Candidate], day: MatchDay, limit: usize) -> Vec<Match> {
    let mut scored: Vec<(u32, u32, AccountId, &Candidate)> = candidates
        .iter()
        .filter(|c| eligible(c, seeker, day.today))
        .map(|c| ((score(c, seeker) * 10.0).round() as u32, c.active_clients, c.id, c))
        .collect();
    let by_rank = |a: &(u32, u32, AccountId, &Candidate)| (Reverse(a.0), a.1, a.2);
    if scored.len() > limit {
        scored.select_nth_unstable_by_key(limit, by_rank);
        scored.truncate(limit);
    }
    scored.sort_unstable_by_key(by_rank);
    scored
        .into_iter()
        .map(|(score, _, _, c)| Match {
            therapist_id: c.id,
            professional_name: c.professional_name.clone(),
            score: (score + 5) / 10,
            reasons: reasons(c, seeker, day),
            has_photo: c.has_photo,
        })
        .collect()
}

/// When nothing matches, what stands in the way, most fundamental first.
pub fn explain_no_match(seeker: &Seeker, candidates: &[Candidate], day: MatchDay) -> Vec<NoMatchHint> {
    let mut places: Vec<String> = seeker.jurisdictions.iter().map(|j| j.name()).collect();
    places.dedup();
    let licensed: Vec<&Candidate> =
        candidates.iter().filter(|c| c.approved && licensed_everywhere(c, seeker, day.today)).collect();
    if licensed.is_empty() {
        return vec![NoMatchHint::NotLicensedThere { places }];
    }
    let suitable: Vec<&Candidate> =
        licensed.into_iter().filter(|c| seeker.kind == SeekerKind::Individual || c.works_with_couples).collect();
    if suitable.is_empty() {
        return vec![NoMatchHint::NoCouplesWorkThere { places }];
    }
    let with_room: Vec<&Candidate> = suitable.into_iter().filter(|c| has_room(c)).collect();
    if with_room.is_empty() {
        return vec![NoMatchHint::EveryoneFull { places }];
    }
    let others: Vec<&Candidate> = with_room.into_iter().filter(|c| !seeker.exclude.contains(&c.id)).collect();
    if others.is_empty() {
        return vec![NoMatchHint::NoOneElse { places }];
    }
    // Everyone left fails on language, on the ways to meet asked for, or both.
    let language_only = others.iter().any(|c| !speaks(c, seeker) && offers(c, seeker));
    let way_only = others.iter().any(|c| speaks(c, seeker) && !offers(c, seeker));
    let mut hints = Vec::new();
    if language_only || !way_only {
        let mut spoken: Vec<&Language> = others.iter().flat_map(|c| &c.languages).collect();
        spoken.sort();
        spoken.dedup();
        hints.push(NoMatchHint::OtherLanguages {
            places: places.clone(),
            wanted: seeker.languages.iter().map(|l| l.name().to_owned()).collect(),
            spoken: spoken.into_iter().take(4).map(|l| l.name().to_owned()).collect(),
        });
    }
    // Only a preference that was set is ever suggested for loosening.
    if !seeker.modalities.is_empty() && (way_only || !language_only) {
        let mut offered: Vec<Modality> =
            others.iter().flat_map(|c| &c.modalities).filter(|m| !seeker.modalities.contains(m)).copied().collect();
        offered.sort();
        offered.dedup();
        if !offered.is_empty() {
            hints.push(NoMatchHint::OtherWaysToMeet {
                places,
                wanted: seeker.modalities.iter().map(|m| m.label().to_owned()).collect(),
                offered: offered.into_iter().map(|m| m.label().to_owned()).collect(),
            });
        }
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::availability::{to_utc_week, WeeklyWindow};

    fn day() -> MatchDay {
        MatchDay { today: NaiveDate::from_ymd_opt(2026, 7, 15).unwrap() }
    }

    fn j(code: &str) -> Jurisdiction {
        Jurisdiction::parse(code).unwrap()
    }

    fn lang(code: &str) -> Language {
        Language::parse(code).unwrap()
    }

    fn therapist(name: &str) -> Candidate {
        Candidate {
            id: AccountId::new(),
            professional_name: name.to_owned(),
            approved: true,
            licenses: vec![LicenseSummary {
                jurisdiction: j("US-CA"),
                expires_on: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                verified: true,
            }],
            specialties: vec![Specialty::Couples, Specialty::EmotionalDistance, Specialty::Communication],
            approaches: vec![Approach::EmotionallyFocused],
            languages: vec![lang("en")],
            modalities: vec![Modality::Video, Modality::Messaging],
            works_with_couples: true,
            gender: Some(Gender::Woman),
            availability_utc: Vec::new(),
            capacity: 10,
            active_clients: 2,
            accepting: true,
            has_photo: false,
        }
    }

    fn seeker() -> Seeker {
        Seeker {
            kind: SeekerKind::Individual,
            jurisdictions: vec![j("US-CA")],
            languages: vec![lang("en")],
            concerns: vec![Concern::LessCommunication, Concern::LessAffection],
            modalities: vec![Modality::Video],
            approaches: vec![],
            gender: None,
            windows_utc: vec![],
            time_zone: TimeZone::parse("America/Los_Angeles").unwrap(),
            exclude: vec![],
        }
    }

    #[test]
    fn hard_rules_exclude_unlicensed_full_and_unsuitable_therapists() {
        let ok = therapist("Ok");
        let mut expired = therapist("Expired");
        expired.licenses[0].expires_on = NaiveDate::from_ymd_opt(2026, 7, 14).unwrap();
        let mut elsewhere = therapist("Elsewhere");
        elsewhere.licenses[0].jurisdiction = j("US-NY");
        let mut unverified = therapist("Unverified");
        unverified.licenses[0].verified = false;
        let mut full = therapist("Full");
        full.active_clients = 10;
        let mut closed = therapist("Closed");
        closed.accepting = false;
        let mut pending = therapist("Pending");
        pending.approved = false;
        let mut spanish = therapist("Spanish");
        spanish.languages = vec![lang("es")];
        let mut audio_only = therapist("Audio");
        audio_only.modalities = vec![Modality::Audio];
        let all = [ok.clone(), expired, elsewhere, unverified, full, closed, pending, spanish, audio_only];
        let found = find_matches(&seeker(), &all, day(), 3);
        assert_eq!(found.iter().map(|m| m.professional_name.as_str()).collect::<Vec<_>>(), ["Ok"]);
    }

    #[test]
    fn a_licence_expiring_today_still_counts() {
        let mut t = therapist("Today");
        t.licenses[0].expires_on = day().today;
        assert_eq!(find_matches(&seeker(), &[t], day(), 3).len(), 1);
    }

    #[test]
    fn couples_need_couples_work_and_a_licence_for_both_partners() {
        let mut s = seeker();
        s.kind = SeekerKind::Couple;
        s.jurisdictions = vec![j("US-CA"), j("US-NV")];
        let mut both = therapist("Both");
        both.licenses.push(LicenseSummary {
            jurisdiction: j("US-NV"),
            expires_on: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            verified: true,
        });
        let ca_only = therapist("CA only");
        let mut no_couples = both.clone();
        no_couples.id = AccountId::new();
        no_couples.professional_name = "Individuals only".into();
        no_couples.works_with_couples = false;
        let found = find_matches(&s, &[both, ca_only, no_couples], day(), 3);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].professional_name, "Both");
        assert!(found[0].reasons[0].contains("California and Nevada"), "{:?}", found[0].reasons);
    }

    #[test]
    fn better_fit_ranks_first_and_reasons_say_why() {
        let mut s = seeker();
        s.approaches = vec![Approach::GottmanMethod];
        s.gender = Some(Gender::Man);
        let tz = TimeZone::parse("America/Los_Angeles").unwrap();
        s.windows_utc = to_utc_week(&[WeeklyWindow::parse("tue", "18:00", "21:00").unwrap()], tz, day().today);
        let mut fit = therapist("Fit");
        fit.approaches = vec![Approach::GottmanMethod];
        fit.gender = Some(Gender::Man);
        fit.availability_utc = to_utc_week(&[WeeklyWindow::parse("tue", "17:00", "21:00").unwrap()], tz, day().today);
        let mut anxiety_only = therapist("Anxiety");
        anxiety_only.specialties = vec![Specialty::Anxiety];
        let plain = therapist("Plain");
        let found = find_matches(&s, &[plain, anxiety_only, fit], day(), 3);
        assert_eq!(found.iter().map(|m| m.professional_name.as_str()).collect::<Vec<_>>(), ["Fit", "Plain", "Anxiety"]);
        assert!(found[0].score > found[1].score && found[1].score > found[2].score);
        let reasons = &found[0].reasons;
        assert_eq!(reasons[0], "Licensed in California");
        assert!(reasons.contains(&"Works with communication and emotional distance".to_owned()), "{reasons:?}");
        assert!(reasons.contains(&"Uses the Gottman Method".to_owned()), "{reasons:?}");
        assert!(reasons.contains(&"Has evening times that fit yours".to_owned()), "{reasons:?}");
    }

    #[test]
    fn lighter_load_wins_a_tie_and_results_are_deterministic() {
        let mut busy = therapist("Busy");
        busy.active_clients = 8;
        let mut free = therapist("Free");
        free.active_clients = 0;
        let all = vec![busy, free];
        let a = find_matches(&seeker(), &all, day(), 3);
        let mut reversed = all.clone();
        reversed.reverse();
        let b = find_matches(&seeker(), &reversed, day(), 3);
        assert_eq!(a, b);
        assert_eq!(a[0].professional_name, "Free");
    }

    #[test]
    fn at_most_the_limit_best_first() {
        let all: Vec<Candidate> = (0..50)
            .map(|i| {
                let mut t = therapist(&format!("T{i}"));
                t.active_clients = i % 10;
                t
            })
            .collect();
        let found = find_matches(&seeker(), &all, day(), 3);
        assert_eq!(found.len(), 3);
        assert!(found.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(found.iter().all(|m| m.professional_name.starts_with('T')));
    }

    #[test]
    fn fit_in_words_from_the_score() {
        assert_eq!(Fit::of(100), Fit::Strong);
        assert_eq!(Fit::of(70), Fit::Strong);
        assert_eq!(Fit::of(69), Fit::Good);
        assert_eq!(Fit::of(50), Fit::Good);
        assert_eq!(Fit::of(49), Fit::Possible);
        assert_eq!(Fit::of(0).words(), "Possible fit");
    }

    #[test]
    fn no_match_names_the_place_when_nobody_is_licensed_there() {
        let mut s = seeker();
        s.jurisdictions = vec![j("US-NY")];
        let hints = explain_no_match(&s, &[therapist("CA")], day());
        assert_eq!(hints, vec![NoMatchHint::NotLicensedThere { places: vec!["New York".into()] }]);
        assert!(
            hints[0].advice().starts_with("No therapist on Rapport is licensed in New York yet."),
            "{}",
            hints[0].advice()
        );
        s.kind = SeekerKind::Couple;
        s.jurisdictions = vec![j("US-CA"), j("US-NV")];
        let hints = explain_no_match(&s, &[therapist("CA")], day());
        assert!(hints[0].advice().contains("licensed in both California and Nevada"), "{}", hints[0].advice());
        // An unverified or expired licence is no licence.
        let mut unverified = therapist("Unverified");
        unverified.licenses[0].verified = false;
        assert!(matches!(explain_no_match(&seeker(), &[unverified], day())[0], NoMatchHint::NotLicensedThere { .. }));
    }

    #[test]
    fn no_match_says_when_licensed_therapists_are_full_or_do_not_see_couples() {
        let mut full = therapist("Full");
        full.active_clients = 10;
        let hints = explain_no_match(&seeker(), &[full], day());
        assert_eq!(hints, vec![NoMatchHint::EveryoneFull { places: vec!["California".into()] }]);
        assert!(hints[0].advice().contains("Every therapist licensed in California is full"));
        let mut s = seeker();
        s.kind = SeekerKind::Couple;
        let mut individuals = therapist("Individuals only");
        individuals.works_with_couples = false;
        assert_eq!(
            explain_no_match(&s, &[individuals], day()),
            vec![NoMatchHint::NoCouplesWorkThere { places: vec!["California".into()] }]
        );
        let current = therapist("Current");
        let mut s = seeker();
        s.exclude = vec![current.id];
        assert_eq!(
            explain_no_match(&s, &[current], day()),
            vec![NoMatchHint::NoOneElse { places: vec!["California".into()] }]
        );
    }

    #[test]
    fn no_match_names_the_languages_therapists_speak() {
        let mut s = seeker();
        s.languages = vec![lang("pl")];
        let mut spanish = therapist("Spanish");
        spanish.languages = vec![lang("en"), lang("es")];
        assert!(find_matches(&s, std::slice::from_ref(&spanish), day(), 3).is_empty());
        let hints = explain_no_match(&s, &[spanish], day());
        assert_eq!(hints.len(), 1, "{hints:?}");
        assert_eq!(
            hints[0].advice(),
            "No therapist with space in California speaks Polish yet. Some speak English or Spanish: if you're comfortable in one of those, adding it would open up more therapists."
        );
    }

    #[test]
    fn no_match_suggests_other_ways_to_meet_only_when_some_were_chosen() {
        let mut s = seeker();
        s.modalities = vec![Modality::Audio];
        let video = therapist("Video");
        let hints = explain_no_match(&s, std::slice::from_ref(&video), day());
        assert_eq!(hints.len(), 1, "{hints:?}");
        assert!(matches!(&hints[0], NoMatchHint::OtherWaysToMeet { offered, .. } if offered.len() == 2), "{hints:?}");
        // No ways to meet were chosen: only the language can stand in the way, and only it is mentioned.
        let mut s = seeker();
        s.modalities = vec![];
        s.languages = vec![lang("fr")];
        let hints = explain_no_match(&s, std::slice::from_ref(&video), day());
        assert!(hints.iter().all(|h| matches!(h, NoMatchHint::OtherLanguages { .. })), "{hints:?}");
        // Both stand in the way for everyone: both are named, because both were set.
        let mut s = seeker();
        s.modalities = vec![Modality::Audio];
        s.languages = vec![lang("fr")];
        let hints = explain_no_match(&s, &[video], day());
        assert_eq!(hints.len(), 2, "{hints:?}");
        for hint in &hints {
            let words = hint.advice();
            assert!(!words.contains("gender") && !words.contains("approach"), "{words}");
        }
    }
}
