//! Choosing a time zone: the canonical IANA zones people live in (no
//! backward-compatible aliases such as `US/Pacific` or `GB-Eire`), grouped
//! by region, each labelled with its UTC offset today.

use crate::TimeZone;
use chrono::{DateTime, Offset, Utc};

/// One zone to choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneChoice {
    /// The IANA name, e.g. `America/Los_Angeles`.
    pub name: &'static str,
    /// What people read: "Los Angeles (UTC−08:00)".
    pub label: String,
}

/// The zones of one region, for an `<optgroup>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneGroup {
    /// "Africa", "America", "Europe", …
    pub region: &'static str,
    pub zones: Vec<ZoneChoice>,
}

/// Regions in the order they are offered, with their names for people.
const REGIONS: &[(&str, &str)] = &[
    ("Africa", "Africa"),
    ("America", "America"),
    ("Antarctica", "Antarctica"),
    ("Arctic", "Arctic"),
    ("Asia", "Asia"),
    ("Atlantic", "Atlantic Ocean"),
    ("Australia", "Australia"),
    ("Europe", "Europe"),
    ("Indian", "Indian Ocean"),
    ("Pacific", "Pacific"),
];

/// The offset from UTC at `at`, as "UTC−08:00", "UTC+05:30" or "UTC+00:00".
pub fn utc_offset(zone: TimeZone, at: DateTime<Utc>) -> String {
    let seconds = at.with_timezone(&zone.tz()).offset().fix().local_minus_utc();
    let sign = if seconds < 0 { '\u{2212}' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The names [`TimeZone::format`] gives a zone through the year around
/// `now`, by UTC offset in minutes: `[(-480, "PST"), (-420, "PDT")]`. A page
/// that formats times in the browser can look its offsets up here, so live
/// times read the same as the server's.
pub fn names_by_offset(zone: TimeZone, now: DateTime<Utc>) -> Vec<(i32, String)> {
    let mut out: Vec<(i32, String)> = Vec::new();
    for day in -183..=183 {
        let at = now + chrono::Duration::days(day);
        let offset = at.with_timezone(&zone.tz()).offset().fix().local_minus_utc() / 60;
        if !out.iter().any(|(o, _)| *o == offset) {
            out.push((offset, zone.abbreviation(at)));
        }
    }
    out.sort();
    out
}

/// "America/Argentina/Buenos_Aires" → "Buenos Aires, Argentina"; "Europe/London" → "London".
fn place_of(name: &str) -> String {
    let parts: Vec<String> = name.split('/').skip(1).map(|p| p.replace('_', " ")).collect();
    match parts.as_slice() {
        [area, city] => format!("{city}, {area}"),
        _ => parts.join(", "),
    }
}

/// A zone in words for people: "Los Angeles (UTC−08:00)", "Coordinated Universal Time (UTC+00:00)".
pub fn zone_label(zone: TimeZone, now: DateTime<Utc>) -> String {
    let place = match place_of(zone.name()) {
        p if p.is_empty() => "Coordinated Universal Time".to_owned(),
        p => p,
    };
    format!("{place} ({})", utc_offset(zone, now))
}

/// Every canonical zone, in groups by region, each labelled with its offset at `now`.
/// UTC comes last, for people who keep to it.
pub fn zone_choices(now: DateTime<Utc>) -> Vec<ZoneGroup> {
    let mut groups: Vec<ZoneGroup> = REGIONS
        .iter()
        .map(|(prefix, region)| {
            let mut zones: Vec<ZoneChoice> = CANONICAL_ZONES
                .iter()
                .filter(|n| n.split('/').next() == Some(*prefix))
                .filter_map(|n| {
                    let zone = TimeZone::parse(n).ok()?;
                    Some(ZoneChoice { name: n, label: zone_label(zone, now) })
                })
                .collect();
            zones.sort_by(|a, b| a.label.cmp(&b.label));
            ZoneGroup { region, zones }
        })
        .filter(|g| !g.zones.is_empty())
        .collect();
    groups.push(ZoneGroup {
        region: "Other",
        zones: vec![ZoneChoice { name: "UTC", label: "Coordinated Universal Time (UTC+00:00)".to_owned() }],
    });
    groups
}

/// Whether a zone is one the list offers (not an alias kept for old software).
pub fn is_offered(name: &str) -> bool {
    name == "UTC" || CANONICAL_ZONES.binary_search(&name).is_ok()
}

/// The zones of the tz database's `zone.tab`: one per place people live,
/// without the backward-compatible links. Sorted.
const CANONICAL_ZONES: &[&str] = &[
    "Africa/Abidjan",
    "Africa/Accra",
    "Africa/Addis_Ababa",
    "Africa/Algiers",
    "Africa/Asmara",
    "Africa/Bamako",
    "Africa/Bangui",
    "Africa/Banjul",
    "Africa/Bissau",
    "Africa/Blantyre",
    "Africa/Brazzaville",
    "Africa/Bujumbura",
    "Africa/Cairo",
    "Africa/Casablanca",
    "Africa/Ceuta",
    "Africa/Conakry",
    "Africa/Dakar",
    "Africa/Dar_es_Salaam",
    "Africa/Djibouti",
    "Africa/Douala",
    "Africa/El_Aaiun",
    "Africa/Freetown",
    "Africa/Gaborone",
    "Africa/Harare",
    "Africa/Johannesburg",
    "Africa/Juba",
    "Africa/Kampala",
    "Africa/Khartoum",
    "Africa/Kigali",
    "Africa/Kinshasa",
    "Africa/Lagos",
    "Africa/Libreville",
    "Africa/Lome",
    "Africa/Luanda",
    "Africa/Lubumbashi",
    "Africa/Lusaka",
    "Africa/Malabo",
    "Africa/Maputo",
    "Africa/Maseru",
    "Africa/Mbabane",
    "Africa/Mogadishu",
    "Africa/Monrovia",
    "Africa/Nairobi",
    "Africa/Ndjamena",
    "Africa/Niamey",
    "Africa/Nouakchott",
    "Africa/Ouagadougou",
    "Africa/Porto-Novo",
    "Africa/Sao_Tome",
    "Africa/Tripoli",
    "Africa/Tunis",
    "Africa/Windhoek",
    "America/Adak",
    "America/Anchorage",
    "America/Anguilla",
    "America/Antigua",
    "America/Araguaina",
    "America/Argentina/Buenos_Aires",
    "America/Argentina/Catamarca",
    "America/Argentina/Cordoba",
    "America/Argentina/Jujuy",
    "America/Argentina/La_Rioja",
    "America/Argentina/Mendoza",
    "America/Argentina/Rio_Gallegos",
    "America/Argentina/Salta",
    "America/Argentina/San_Juan",
    "America/Argentina/San_Luis",
    "America/Argentina/Tucuman",
    "America/Argentina/Ushuaia",
    "America/Aruba",
    "America/Asuncion",
    "America/Atikokan",
    "America/Bahia",
    "America/Bahia_Banderas",
    "America/Barbados",
    "America/Belem",
    "America/Belize",
    "America/Blanc-Sablon",
    "America/Boa_Vista",
    "America/Bogota",
    "America/Boise",
    "America/Cambridge_Bay",
    "America/Campo_Grande",
    "America/Cancun",
    "America/Caracas",
    "America/Cayenne",
    "America/Cayman",
    "America/Chicago",
    "America/Chihuahua",
    "America/Ciudad_Juarez",
    "America/Costa_Rica",
    "America/Coyhaique",
    "America/Creston",
    "America/Cuiaba",
    "America/Curacao",
    "America/Danmarkshavn",
    "America/Dawson",
    "America/Dawson_Creek",
    "America/Denver",
    "America/Detroit",
    "America/Dominica",
    "America/Edmonton",
    "America/Eirunepe",
    "America/El_Salvador",
    "America/Fort_Nelson",
    "America/Fortaleza",
    "America/Glace_Bay",
    "America/Goose_Bay",
    "America/Grand_Turk",
    "America/Grenada",
    "America/Guadeloupe",
    "America/Guatemala",
    "America/Guayaquil",
    "America/Guyana",
    "America/Halifax",
    "America/Havana",
    "America/Hermosillo",
    "America/Indiana/Indianapolis",
    "America/Indiana/Knox",
    "America/Indiana/Marengo",
    "America/Indiana/Petersburg",
    "America/Indiana/Tell_City",
    "America/Indiana/Vevay",
    "America/Indiana/Vincennes",
    "America/Indiana/Winamac",
    "America/Inuvik",
    "America/Iqaluit",
    "America/Jamaica",
    "America/Juneau",
    "America/Kentucky/Louisville",
    "America/Kentucky/Monticello",
    "America/Kralendijk",
    "America/La_Paz",
    "America/Lima",
    "America/Los_Angeles",
    "America/Lower_Princes",
    "America/Maceio",
    "America/Managua",
    "America/Manaus",
    "America/Marigot",
    "America/Martinique",
    "America/Matamoros",
    "America/Mazatlan",
    "America/Menominee",
    "America/Merida",
    "America/Metlakatla",
    "America/Mexico_City",
    "America/Miquelon",
    "America/Moncton",
    "America/Monterrey",
    "America/Montevideo",
    "America/Montserrat",
    "America/Nassau",
    "America/New_York",
    "America/Nome",
    "America/Noronha",
    "America/North_Dakota/Beulah",
    "America/North_Dakota/Center",
    "America/North_Dakota/New_Salem",
    "America/Nuuk",
    "America/Ojinaga",
    "America/Panama",
    "America/Paramaribo",
    "America/Phoenix",
    "America/Port-au-Prince",
    "America/Port_of_Spain",
    "America/Porto_Velho",
    "America/Puerto_Rico",
    "America/Punta_Arenas",
    "America/Rankin_Inlet",
    "America/Recife",
    "America/Regina",
    "America/Resolute",
    "America/Rio_Branco",
    "America/Santarem",
    "America/Santiago",
    "America/Santo_Domingo",
    "America/Sao_Paulo",
    "America/Scoresbysund",
    "America/Sitka",
    "America/St_Barthelemy",
    "America/St_Johns",
    "America/St_Kitts",
    "America/St_Lucia",
    "America/St_Thomas",
    "America/St_Vincent",
    "America/Swift_Current",
    "America/Tegucigalpa",
    "America/Thule",
    "America/Tijuana",
    "America/Toronto",
    "America/Tortola",
    "America/Vancouver",
    "America/Whitehorse",
    "America/Winnipeg",
    "America/Yakutat",
    "Antarctica/Casey",
    "Antarctica/Davis",
    "Antarctica/DumontDUrville",
    "Antarctica/Macquarie",
    "Antarctica/Mawson",
    "Antarctica/McMurdo",
    "Antarctica/Palmer",
    "Antarctica/Rothera",
    "Antarctica/Syowa",
    "Antarctica/Troll",
    "Antarctica/Vostok",
    "Arctic/Longyearbyen",
    "Asia/Aden",
    "Asia/Almaty",
    "Asia/Amman",
    "Asia/Anadyr",
    "Asia/Aqtau",
    "Asia/Aqtobe",
    "Asia/Ashgabat",
    "Asia/Atyrau",
    "Asia/Baghdad",
    "Asia/Bahrain",
    "Asia/Baku",
    "Asia/Bangkok",
    "Asia/Barnaul",
    "Asia/Beirut",
    "Asia/Bishkek",
    "Asia/Brunei",
    "Asia/Chita",
    "Asia/Colombo",
    "Asia/Damascus",
    "Asia/Dhaka",
    "Asia/Dili",
    "Asia/Dubai",
    "Asia/Dushanbe",
    "Asia/Famagusta",
    "Asia/Gaza",
    "Asia/Hebron",
    "Asia/Ho_Chi_Minh",
    "Asia/Hong_Kong",
    "Asia/Hovd",
    "Asia/Irkutsk",
    "Asia/Jakarta",
    "Asia/Jayapura",
    "Asia/Jerusalem",
    "Asia/Kabul",
    "Asia/Kamchatka",
    "Asia/Karachi",
    "Asia/Kathmandu",
    "Asia/Khandyga",
    "Asia/Kolkata",
    "Asia/Krasnoyarsk",
    "Asia/Kuala_Lumpur",
    "Asia/Kuching",
    "Asia/Kuwait",
    "Asia/Macau",
    "Asia/Magadan",
    "Asia/Makassar",
    "Asia/Manila",
    "Asia/Muscat",
    "Asia/Nicosia",
    "Asia/Novokuznetsk",
    "Asia/Novosibirsk",
    "Asia/Omsk",
    "Asia/Oral",
    "Asia/Phnom_Penh",
    "Asia/Pontianak",
    "Asia/Pyongyang",
    "Asia/Qatar",
    "Asia/Qostanay",
    "Asia/Qyzylorda",
    "Asia/Riyadh",
    "Asia/Sakhalin",
    "Asia/Samarkand",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Srednekolymsk",
    "Asia/Taipei",
    "Asia/Tashkent",
    "Asia/Tbilisi",
    "Asia/Tehran",
    "Asia/Thimphu",
    "Asia/Tokyo",
    "Asia/Tomsk",
    "Asia/Ulaanbaatar",
    "Asia/Urumqi",
    "Asia/Ust-Nera",
    "Asia/Vientiane",
    "Asia/Vladivostok",
    "Asia/Yakutsk",
    "Asia/Yangon",
    "Asia/Yekaterinburg",
    "Asia/Yerevan",
    "Atlantic/Azores",
    "Atlantic/Bermuda",
    "Atlantic/Canary",
    "Atlantic/Cape_Verde",
    "Atlantic/Faroe",
    "Atlantic/Madeira",
    "Atlantic/Reykjavik",
    "Atlantic/South_Georgia",
    "Atlantic/St_Helena",
    "Atlantic/Stanley",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Broken_Hill",
    "Australia/Darwin",
    "Australia/Eucla",
    "Australia/Hobart",
    "Australia/Lindeman",
    "Australia/Lord_Howe",
    "Australia/Melbourne",
    "Australia/Perth",
    "Australia/Sydney",
    "Europe/Amsterdam",
    "Europe/Andorra",
    "Europe/Astrakhan",
    "Europe/Athens",
    "Europe/Belgrade",
    "Europe/Berlin",
    "Europe/Bratislava",
    "Europe/Brussels",
    "Europe/Bucharest",
    "Europe/Budapest",
    "Europe/Busingen",
    "Europe/Chisinau",
    "Europe/Copenhagen",
    "Europe/Dublin",
    "Europe/Gibraltar",
    "Europe/Guernsey",
    "Europe/Helsinki",
    "Europe/Isle_of_Man",
    "Europe/Istanbul",
    "Europe/Jersey",
    "Europe/Kaliningrad",
    "Europe/Kirov",
    "Europe/Kyiv",
    "Europe/Lisbon",
    "Europe/Ljubljana",
    "Europe/London",
    "Europe/Luxembourg",
    "Europe/Madrid",
    "Europe/Malta",
    "Europe/Mariehamn",
    "Europe/Minsk",
    "Europe/Monaco",
    "Europe/Moscow",
    "Europe/Oslo",
    "Europe/Paris",
    "Europe/Podgorica",
    "Europe/Prague",
    "Europe/Riga",
    "Europe/Rome",
    "Europe/Samara",
    "Europe/San_Marino",
    "Europe/Sarajevo",
    "Europe/Saratov",
    "Europe/Simferopol",
    "Europe/Skopje",
    "Europe/Sofia",
    "Europe/Stockholm",
    "Europe/Tallinn",
    "Europe/Tirane",
    "Europe/Ulyanovsk",
    "Europe/Vaduz",
    "Europe/Vatican",
    "Europe/Vienna",
    "Europe/Vilnius",
    "Europe/Volgograd",
    "Europe/Warsaw",
    "Europe/Zagreb",
    "Europe/Zurich",
    "Indian/Antananarivo",
    "Indian/Chagos",
    "Indian/Christmas",
    "Indian/Cocos",
    "Indian/Comoro",
    "Indian/Kerguelen",
    "Indian/Mahe",
    "Indian/Maldives",
    "Indian/Mauritius",
    "Indian/Mayotte",
    "Indian/Reunion",
    "Pacific/Apia",
    "Pacific/Auckland",
    "Pacific/Bougainville",
    "Pacific/Chatham",
    "Pacific/Chuuk",
    "Pacific/Easter",
    "Pacific/Efate",
    "Pacific/Fakaofo",
    "Pacific/Fiji",
    "Pacific/Funafuti",
    "Pacific/Galapagos",
    "Pacific/Gambier",
    "Pacific/Guadalcanal",
    "Pacific/Guam",
    "Pacific/Honolulu",
    "Pacific/Kanton",
    "Pacific/Kiritimati",
    "Pacific/Kosrae",
    "Pacific/Kwajalein",
    "Pacific/Majuro",
    "Pacific/Marquesas",
    "Pacific/Midway",
    "Pacific/Nauru",
    "Pacific/Niue",
    "Pacific/Norfolk",
    "Pacific/Noumea",
    "Pacific/Pago_Pago",
    "Pacific/Palau",
    "Pacific/Pitcairn",
    "Pacific/Pohnpei",
    "Pacific/Port_Moresby",
    "Pacific/Rarotonga",
    "Pacific/Saipan",
    "Pacific/Tahiti",
    "Pacific/Tarawa",
    "Pacific/Tongatapu",
    "Pacific/Wake",
    "Pacific/Wallis",
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn winter() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap()
    }

    fn all(now: DateTime<Utc>) -> Vec<ZoneChoice> {
        zone_choices(now).into_iter().flat_map(|g| g.zones).collect()
    }

    #[test]
    fn the_list_has_canonical_zones_only() {
        let zones = all(winter());
        let names: Vec<&str> = zones.iter().map(|z| z.name).collect();
        for wanted in ["America/Los_Angeles", "Europe/London", "Asia/Kolkata", "Australia/Sydney", "Europe/Kyiv", "UTC"]
        {
            assert!(names.contains(&wanted), "{wanted}");
        }
        for alias in
            ["GB-Eire", "Zulu", "US/Pacific", "Etc/UTC", "Etc/GMT+8", "Asia/Calcutta", "Europe/Kiev", "GMT", "EST5EDT"]
        {
            assert!(!names.contains(&alias), "{alias}");
            assert!(!is_offered(alias), "{alias}");
        }
        assert!(CANONICAL_ZONES.windows(2).all(|w| w[0] < w[1]), "sorted, for binary search");
        assert!(CANONICAL_ZONES.iter().all(|n| TimeZone::parse(n).is_ok()));
        assert_eq!(names.len(), CANONICAL_ZONES.len() + 1);
    }

    #[test]
    fn names_by_offset_cover_the_year() {
        let la = TimeZone::parse("America/Los_Angeles").unwrap();
        assert_eq!(names_by_offset(la, winter()), vec![(-480, "PST".to_owned()), (-420, "PDT".to_owned())]);
        let dubai = TimeZone::parse("Asia/Dubai").unwrap();
        assert_eq!(names_by_offset(dubai, winter()), vec![(240, "UTC+04:00".to_owned())]);
    }

    #[test]
    fn zones_are_grouped_by_region_with_their_offset_today() {
        let groups = zone_choices(winter());
        let regions: Vec<&str> = groups.iter().map(|g| g.region).collect();
        for region in ["Africa", "America", "Asia", "Australia", "Europe", "Pacific", "Other"] {
            assert!(regions.contains(&region), "{region}");
        }
        let label = |now, name: &str| all(now).into_iter().find(|z| z.name == name).unwrap().label;
        assert_eq!(label(winter(), "America/Los_Angeles"), "Los Angeles (UTC\u{2212}08:00)");
        let summer = Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap();
        assert_eq!(label(summer, "America/Los_Angeles"), "Los Angeles (UTC\u{2212}07:00)");
        assert_eq!(label(winter(), "Europe/London"), "London (UTC+00:00)");
        assert_eq!(label(summer, "Europe/London"), "London (UTC+01:00)");
        assert_eq!(label(winter(), "Asia/Kolkata"), "Kolkata (UTC+05:30)");
        assert_eq!(zone_label(TimeZone::utc(), winter()), "Coordinated Universal Time (UTC+00:00)");
        assert_eq!(label(winter(), "America/Argentina/Buenos_Aires"), "Buenos Aires, Argentina (UTC\u{2212}03:00)");
        let america = groups.iter().find(|g| g.region == "America").unwrap();
        assert!(america.zones.windows(2).all(|w| w[0].label <= w[1].label), "alphabetical within a region");
    }
}
