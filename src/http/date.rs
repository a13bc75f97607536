//! HTTP-dates (RFC 9110 §5.6.7): parsing all three forms, formatting the
//! preferred one. Written here rather than taken from a crate so the rules
//! the cache relies on (lenient letter case, strict spacing, the two-digit-year rule)
//! are visible and tested.

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LONG_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAY_NAMES: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The year against which `http_date_secs` places an RFC 850 two-digit
/// year: pure code has no clock, and that obsolete form is rare enough
/// that a fixed reference (drifting by at most the years since 2026 at the
/// window's far edge) beats threading the time through every caller. Use
/// [`http_date_secs_at`] where the current time is at hand.
const REFERENCE_SECS: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// Seconds since the epoch of an HTTP-date in any of RFC 9110 §5.6.7's
/// forms (IMF-fixdate, RFC 850, asctime), any letter case, single spaces;
/// `None` for anything else, or a time before 1970.
pub fn http_date_secs(v: &str) -> Option<u64> {
    http_date_secs_at(v, REFERENCE_SECS)
}

/// [`http_date_secs`] with the current time `now_secs`, against which an
/// RFC 850 two-digit year is placed: a date more than 50 years in the
/// future means the most recent past year with those last two digits.
pub fn http_date_secs_at(v: &str, now_secs: u64) -> Option<u64> {
    let v = v.trim();
    let (year, month, day, time) = match v.split_once(',') {
        Some((wday, rest)) => {
            let wday = wday.to_ascii_lowercase();
            if DAYS.contains(&wday.as_str()) {
                imf_fixdate(rest)?
            } else if LONG_DAYS.contains(&wday.as_str()) {
                rfc850(rest, now_secs)?
            } else {
                return None;
            }
        }
        None => asctime(v)?,
    };
    secs_of(year, month, day, time)
}

/// (year, month, day, (hour, minute, second)) as read, not yet checked
/// against the calendar.
type Parts = (u64, u64, u64, (u64, u64, u64));

/// Single-space separated fields after the one space that follows the
/// comma: extra spaces make the date invalid (RFC 9111 §5.3 then counts it
/// as already expired, which a lenient reading would turn into a
/// freshness lifetime the origin never gave).
fn fields(rest: &str) -> Vec<&str> {
    match rest.strip_prefix(' ') {
        Some(r) if !r.starts_with(' ') => r.split(' ').collect(),
        _ => Vec::new(),
    }
}

/// `06 Nov 1994 08:49:37 GMT` (after the weekday and comma).
fn imf_fixdate(rest: &str) -> Option<Parts> {
    let parts = fields(rest);
    let [day, month, year, time, gmt] = parts[..] else {
        return None;
    };
    if !gmt.eq_ignore_ascii_case("gmt") || year.len() != 4 {
        return None;
    }
    Some((number(year)?, month_of(month)?, day_of(day)?, time_of(time)?))
}

/// `06-Nov-94 08:49:37 GMT` (after the weekday and comma).
fn rfc850(rest: &str, now_secs: u64) -> Option<Parts> {
    let parts = fields(rest);
    let [date, time, gmt] = parts[..] else {
        return None;
    };
    if !gmt.eq_ignore_ascii_case("gmt") {
        return None;
    }
    let mut d = date.split('-');
    let (Some(day), Some(month), Some(yy), None) = (d.next(), d.next(), d.next(), d.next()) else {
        return None;
    };
    if yy.len() != 2 {
        return None;
    }
    let year = two_digit_year(number(yy)?, now_secs);
    Some((year, month_of(month)?, day_of(day)?, time_of(time)?))
}

/// `Sun Nov  6 08:49:37 1994`.
fn asctime(v: &str) -> Option<Parts> {
    // The day is two characters, space-padded: `Nov  6`.
    let v = match v.get(7..9) {
        Some("  ") => format!("{} {}", &v[..7], &v[9..]),
        _ => v.to_string(),
    };
    let parts: Vec<&str> = v.split(' ').collect();
    let [wday, month, day, time, year] = parts[..] else {
        return None;
    };
    if !DAYS.contains(&wday.to_ascii_lowercase().as_str()) || year.len() != 4 {
        return None;
    }
    Some((number(year)?, month_of(month)?, day_of(day)?, time_of(time)?))
}

/// RFC 9110 §5.6.7: the century that puts the year no more than 50 years
/// after `now_secs`'s year.
fn two_digit_year(yy: u64, now_secs: u64) -> u64 {
    let now_year = civil_of_days(now_secs / 86_400).0;
    let mut year = now_year - now_year % 100 + yy;
    if year > now_year + 50 {
        year -= 100;
    }
    year
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn month_of(s: &str) -> Option<u64> {
    let s = s.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == s).map(|i| i as u64 + 1)
}

fn day_of(s: &str) -> Option<u64> {
    if s.len() > 2 {
        return None;
    }
    number(s).filter(|d| (1..=31).contains(d))
}

/// `hh:mm:ss`, two digits each; a leap second (`60`) is accepted (RFC 9110
/// allows it) and counts as the next minute's first.
fn time_of(s: &str) -> Option<(u64, u64, u64)> {
    let mut t = s.split(':');
    let (Some(h), Some(m), Some(sec), None) = (t.next(), t.next(), t.next(), t.next()) else {
        return None;
    };
    if [h, m, sec].iter().any(|p| p.len() != 2) {
        return None;
    }
    let (h, m, sec) = (number(h)?, number(m)?, number(sec)?);
    (h < 24 && m < 60 && sec <= 60).then_some((h, m, sec))
}

fn is_leap(y: u64) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn secs_of(year: u64, month: u64, day: u64, (h, m, s): (u64, u64, u64)) -> Option<u64> {
    if year < 1970 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_of_civil(year, month, day);
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// Days from 1970-01-01 to the given date (proleptic Gregorian, year >= 1970).
fn days_of_civil(year: u64, month: u64, day: u64) -> u64 {
    let full_years = (1970..year).map(|y| if is_leap(y) { 366 } else { 365 });
    let before_month = (1..month).map(|m| days_in_month(year, m));
    full_years.sum::<u64>() + before_month.sum::<u64>() + day - 1
}

/// (year, month, day) of a day count from 1970-01-01; counts 400-year
/// cycles (146 097 days) first so far dates cost little.
fn civil_of_days(mut days: u64) -> (u64, u64, u64) {
    const CYCLE: u64 = 146_097;
    let mut year = 1970 + 400 * (days / CYCLE);
    days %= CYCLE;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    (year, month, days + 1)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form senders use.
pub fn format_http_date(secs: u64) -> String {
    let days = secs / 86_400;
    let (year, month, day) = civil_of_days(days);
    let rem = secs % 86_400;
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAY_NAMES[(days % 7) as usize],
        day,
        MONTH_NAMES[month as usize - 1],
        year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_6_1994: u64 = 784_111_777;

    #[test]
    fn rfc9110_5_6_7_three_forms_same_instant() {
        assert_eq!(http_date_secs("Sun, 06 Nov 1994 08:49:37 GMT"), Some(NOV_6_1994));
        assert_eq!(http_date_secs("Sunday, 06-Nov-94 08:49:37 GMT"), Some(NOV_6_1994));
        assert_eq!(http_date_secs("Sun Nov  6 08:49:37 1994"), Some(NOV_6_1994));
    }

    #[test]
    fn rfc9110_5_6_7_any_case_but_not_extra_spaces() {
        assert_eq!(http_date_secs("  sUN, 06 nov 1994 08:49:37 gmt "), Some(NOV_6_1994));
        assert_eq!(http_date_secs("SUNDAY, 06-NOV-94 08:49:37 Gmt"), Some(NOV_6_1994));
        assert_eq!(http_date_secs("sun NOV  6 08:49:37 1994"), Some(NOV_6_1994));
        assert_eq!(http_date_secs("sun NOV 06 08:49:37 1994"), Some(NOV_6_1994));
        // RFC 9111 §5.3: an invalid date is already expired, so spacing the
        // grammar does not allow makes it invalid rather than read.
        for bad in [
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "Sun, 06  Nov  1994 08:49:37 GMT",
            "Sun 06 Nov 1994 08:49:37 GMT",
            "Sunday , 06-Nov-94 08:49:37 GMT",
            "Sun Nov 6 08:49:37   1994",
        ] {
            assert_eq!(http_date_secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc9110_5_6_7_epoch_and_leap_day() {
        assert_eq!(http_date_secs("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date_secs("Tue, 29 Feb 2000 12:00:00 GMT"), Some(951_825_600));
        assert_eq!(http_date_secs("Thu, 29 Feb 2001 12:00:00 GMT"), None);
        assert_eq!(http_date_secs("Mon, 31 Apr 2001 12:00:00 GMT"), None);
    }

    #[test]
    fn rfc9110_5_6_7_rejects_other_text() {
        for bad in [
            "",
            "0",
            "-1",
            "tomorrow",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 23:59:59 GMT",
            "Sun Nov  6 08:49:37 1994 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
            "1994-11-06T08:49:37Z",
        ] {
            assert_eq!(http_date_secs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc9110_5_6_7_leap_second_accepted() {
        assert_eq!(
            http_date_secs("Sat, 31 Dec 2016 23:59:60 GMT"),
            http_date_secs("Sun, 01 Jan 2017 00:00:00 GMT")
        );
    }

    #[test]
    fn rfc9110_5_6_7_two_digit_year_fifty_year_rule() {
        let y2026 = http_date_secs("Thu, 01 Jan 2026 00:00:00 GMT").unwrap();
        // 2076 is exactly 50 years ahead: kept; 2077 is more: the 1900s.
        let in_2076 = http_date_secs_at("Wednesday, 01-Jan-76 00:00:00 GMT", y2026).unwrap();
        assert_eq!(format_http_date(in_2076), "Wed, 01 Jan 2076 00:00:00 GMT");
        let in_1977 = http_date_secs_at("Saturday, 01-Jan-77 00:00:00 GMT", y2026).unwrap();
        assert_eq!(format_http_date(in_1977), "Sat, 01 Jan 1977 00:00:00 GMT");
        // Seen from 2090, `80` is 2080, not 1980.
        let y2090 = http_date_secs("Sun, 01 Jan 2090 00:00:00 GMT").unwrap();
        let in_2080 = http_date_secs_at("Monday, 01-Jan-80 00:00:00 GMT", y2090).unwrap();
        assert_eq!(format_http_date(in_2080), "Mon, 01 Jan 2080 00:00:00 GMT");
        // ... and a past year stays in the past.
        let in_2039 = http_date_secs_at("Saturday, 01-Jan-39 00:00:00 GMT", y2090).unwrap();
        assert_eq!(format_http_date(in_2039), "Sat, 01 Jan 2039 00:00:00 GMT");
        // The clock-less form uses 2026 as now.
        assert_eq!(http_date_secs("Saturday, 01-Jan-77 00:00:00 GMT"), Some(in_1977));
    }

    #[test]
    fn rfc9110_5_6_7_format_is_imf_fixdate() {
        assert_eq!(format_http_date(NOV_6_1994), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format_http_date(951_825_600), "Tue, 29 Feb 2000 12:00:00 GMT");
    }

    /// The RFC 850 and asctime forms of `secs`, built from the IMF-fixdate.
    fn obsolete_forms(secs: u64) -> (String, String) {
        let imf = format_http_date(secs);
        let p: Vec<&str> = imf.split([',', ' ']).filter(|s| !s.is_empty()).collect();
        let long = LONG_DAYS[DAYS.iter().position(|d| d.eq_ignore_ascii_case(p[0])).unwrap()];
        let long = format!("{}{}", long[..1].to_ascii_uppercase(), &long[1..]);
        let rfc850 = format!("{long}, {}-{}-{} {} GMT", p[1], p[2], &p[3][2..], p[4]);
        let day: u64 = p[1].parse().unwrap();
        let asctime = format!("{} {} {day:>2} {} {}", p[0], p[2], p[4], p[3]);
        (rfc850, asctime)
    }

    #[test]
    fn rfc9110_5_6_7_agrees_with_the_httpdate_crate() {
        let other = |v: &str| {
            let t = httpdate::parse_http_date(v).ok()?;
            Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs())
        };
        // 1977..2069: where RFC 850's two-digit years mean the same to both.
        let mut s = 220_924_800;
        while s < 3_155_760_000 {
            let imf = format_http_date(s);
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
            assert_eq!(imf, httpdate::fmt_http_date(at), "{s}");
            let (rfc850, asctime) = obsolete_forms(s);
            for form in [&imf, &rfc850, &asctime] {
                assert_eq!(http_date_secs(form), other(form), "{form}");
                assert_eq!(http_date_secs(form), Some(s), "{form}");
            }
            s += 97 * 3600 + 17;
        }
    }

    #[test]
    fn rfc9110_5_6_7_format_then_parse_round_trips() {
        // Every 53 hours plus a few seconds over 130 years: leap years, month ends.
        let mut s = 0;
        while s < 4_102_444_800 + 86_400 * 365 * 30 {
            assert_eq!(http_date_secs(&format_http_date(s)), Some(s), "{s}");
            s += 53 * 3600 + 13;
        }
    }
}
