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

/// What could be changed when nothing matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMatchHint {
    /// Nobody is licensed where they live (yet).
    NoLicensedTherapists,
    /// More would match with another language.
    AddLanguage,
    /// More would match with another way to meet.
    AddModality,
    /// Everyone licensed there is full right now.
    EveryoneFull,
}

impl NoMatchHint {
    /// Plain words for the person.
    pub fn advice(self) -> &'static str {
        match self {
            NoMatchHint::NoLicensedTherapists => "We don't yet have a therapist licensed where you live. Therapists can only legally work with people in the places they are licensed, so we won't suggest anyone who isn't.",
            NoMatchHint::AddLanguage => "If you're comfortable in another language, adding it would open up more therapists.",
            NoMatchHint::AddModality => "Allowing another way to meet, such as messaging or video, would open up more therapists.",
            NoMatchHint::EveryoneFull => "The therapists licensed where you live are full at the moment. Please check again soon; places open up often.",
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

/// When nothing matches, what the person could change.
pub fn explain_no_match(seeker: &Seeker, candidates: &[Candidate], day: MatchDay) -> Vec<NoMatchHint> {
    let licensed: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.approved && licensed_everywhere(c, seeker, day.today))
        .filter(|c| seeker.kind == SeekerKind::Individual || c.works_with_couples)
        .collect();
    if licensed.is_empty() {
        return vec![NoMatchHint::NoLicensedTherapists];
    }
    let with_room: Vec<&&Candidate> = licensed.iter().filter(|c| has_room(c)).collect();
    if with_room.is_empty() {
        return vec![NoMatchHint::EveryoneFull];
    }
    let mut hints = Vec::new();
    if with_room.iter().any(|c| !speaks(c, seeker) && offers(c, seeker)) {
        hints.push(NoMatchHint::AddLanguage);
    }
    if with_room.iter().any(|c| speaks(c, seeker) && !offers(c, seeker)) {
        hints.push(NoMatchHint::AddModality);
    }
    if hints.is_empty() {
        hints.push(NoMatchHint::AddModality);
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
    fn no_match_explains_what_to_change() {
        let mut s = seeker();
        s.jurisdictions = vec![j("DE")];
        assert_eq!(explain_no_match(&s, &[therapist("CA")], day()), vec![NoMatchHint::NoLicensedTherapists]);
        let mut s = seeker();
        s.languages = vec![lang("fr")];
        assert!(find_matches(&s, &[therapist("CA")], day(), 3).is_empty());
        assert_eq!(explain_no_match(&s, &[therapist("CA")], day()), vec![NoMatchHint::AddLanguage]);
        let mut full = therapist("Full");
        full.active_clients = 10;
        assert_eq!(explain_no_match(&seeker(), &[full], day()), vec![NoMatchHint::EveryoneFull]);
    }
}
