//! EXIF: when and where the photo was taken, and which way up it is.
//!
//! Missing or unreadable EXIF is normal (messaging apps and editors strip it), so every field is
//! optional and nothing here fails an upload.

use exif::{In, Tag, Value};

/// Capture time as the camera recorded it (local wall-clock time, plus the UTC offset when the
/// camera wrote `OffsetTimeOriginal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureTime {
    /// Year, e.g. 2026.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
    /// Second 0–60.
    pub second: u8,
    /// Offset from UTC in minutes (+480 for China), when recorded.
    pub offset_minutes: Option<i16>,
}

impl CaptureTime {
    /// RFC 3339 text; without an offset it is a local time (no `Z`), which the caller interprets
    /// in the institution's time zone.
    pub fn to_rfc3339(&self) -> String {
        let local = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        match self.offset_minutes {
            None => local,
            Some(o) => {
                let sign = if o < 0 { '-' } else { '+' };
                let o = o.unsigned_abs();
                format!("{local}{sign}{:02}:{:02}", o / 60, o % 60)
            }
        }
    }
}

/// A GPS position in decimal degrees (WGS 84 as phones record it; north and east positive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpsPosition {
    /// Latitude, −90 to 90.
    pub latitude: f64,
    /// Longitude, −180 to 180.
    pub longitude: f64,
}

/// What EXIF told us; each part independently absent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PhotoExif {
    /// `DateTimeOriginal` (+ `OffsetTimeOriginal`).
    pub taken_at: Option<CaptureTime>,
    /// `GPSLatitude`/`GPSLongitude` with their N/S, E/W references.
    pub gps: Option<GpsPosition>,
    /// EXIF orientation 1–8 (1 = upright).
    pub orientation: Option<u8>,
}

/// Reads EXIF from a JPEG or PNG container.
pub(super) fn read(bytes: &[u8]) -> PhotoExif {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes)) else {
        return PhotoExif::default();
    };
    let field = |tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);
    PhotoExif {
        taken_at: field(Tag::DateTimeOriginal)
            .and_then(|v| capture_time(v, field(Tag::OffsetTimeOriginal))),
        gps: gps(
            field(Tag::GPSLatitude),
            field(Tag::GPSLatitudeRef),
            field(Tag::GPSLongitude),
            field(Tag::GPSLongitudeRef),
        ),
        orientation: field(Tag::Orientation)
            .and_then(|v| v.get_uint(0))
            .and_then(|o| u8::try_from(o).ok())
            .filter(|o| (1..=8).contains(o)),
    }
}

fn ascii(value: &Value) -> Option<&[u8]> {
    match value {
        Value::Ascii(parts) => parts.first().map(Vec::as_slice),
        _ => None,
    }
}

fn capture_time(value: &Value, offset: Option<&Value>) -> Option<CaptureTime> {
    let mut dt = exif::DateTime::from_ascii(ascii(value)?).ok()?;
    if let Some(offset) = offset.and_then(ascii) {
        // A malformed offset leaves the time local rather than discarding it.
        let _ = dt.parse_offset(offset);
    }
    let valid = (1..=12).contains(&dt.month)
        && (1..=31).contains(&dt.day)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second <= 60;
    valid.then_some(CaptureTime {
        year: dt.year,
        month: dt.month,
        day: dt.day,
        hour: dt.hour,
        minute: dt.minute,
        second: dt.second,
        offset_minutes: dt.offset,
    })
}

fn gps(
    lat: Option<&Value>,
    lat_ref: Option<&Value>,
    lon: Option<&Value>,
    lon_ref: Option<&Value>,
) -> Option<GpsPosition> {
    let latitude = degrees(lat?)? * sign(lat_ref, b'S');
    let longitude = degrees(lon?)? * sign(lon_ref, b'W');
    // Phones without a fix sometimes write 0/0 or garbage; only a real position is useful.
    let plausible = latitude.abs() <= 90.0 && longitude.abs() <= 180.0;
    plausible.then_some(GpsPosition {
        latitude,
        longitude,
    })
}

/// Degrees, minutes, seconds as three rationals.
fn degrees(value: &Value) -> Option<f64> {
    let Value::Rational(parts) = value else {
        return None;
    };
    let mut total = 0.0;
    for (part, scale) in parts.iter().zip([1.0, 60.0, 3600.0]) {
        if part.denom == 0 {
            return None;
        }
        total += part.to_f64() / scale;
    }
    total.is_finite().then_some(total)
}

fn sign(reference: Option<&Value>, negative: u8) -> f64 {
    match reference.and_then(ascii).and_then(|r| r.first()) {
        Some(&r) if r.eq_ignore_ascii_case(&negative) => -1.0,
        _ => 1.0,
    }
}
