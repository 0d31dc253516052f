//! Format detection from the bytes themselves: a client's declared content type and file name
//! prove nothing.

use super::PhotoError;

/// Image formats accepted as evidence: what phone cameras and screenshots produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotoFormat {
    /// JPEG (camera photos).
    Jpeg,
    /// PNG (screenshots, scanned documents).
    Png,
}

impl PhotoFormat {
    /// MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// Conventional file extension, for download names.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The format the magic bytes announce, or an error naming what the file appears to be.
pub(super) fn sniff(bytes: &[u8]) -> Result<PhotoFormat, PhotoError> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Ok(PhotoFormat::Jpeg);
    }
    if bytes.starts_with(PNG_MAGIC) {
        return Ok(PhotoFormat::Png);
    }
    let what = if bytes.starts_with(b"%PDF") {
        "a PDF document"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "WebP, send JPEG instead"
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        "HEIC/HEIF or MP4, send JPEG instead (set the camera to 'most compatible')"
    } else if bytes.starts_with(b"GIF8") {
        "GIF"
    } else if bytes.is_empty() {
        "an empty file"
    } else {
        "not an image"
    };
    Err(PhotoError::UnsupportedType(format!(
        "{what}; JPEG and PNG are accepted"
    )))
}

/// Whether a JPEG's entropy-coded data is followed by an end-of-image marker, i.e. the upload was
/// not cut short.
///
/// Walks the marker segments to the first start-of-scan (so an EXIF thumbnail's own end marker in
/// APP1 does not count) and then looks for `FF D9`: inside scan data every `FF` is stuffed as
/// `FF 00`, so the pair only occurs as a real marker. Bytes after it (MPF images, vendor trailers)
/// are allowed, as phones write them.
pub(super) fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut pos = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        while bytes.get(pos) == Some(&0xff) && bytes.get(pos + 1) == Some(&0xff) {
            pos += 1;
        }
        let (Some(&0xff), Some(&marker)) = (bytes.get(pos), bytes.get(pos + 1)) else {
            return false;
        };
        pos += 2;
        match marker {
            0xd8 | 0x01 | 0xd0..=0xd7 => continue,
            0xd9 => return false,
            _ => {}
        }
        let (Some(&hi), Some(&lo)) = (bytes.get(pos), bytes.get(pos + 1)) else {
            return false;
        };
        pos += usize::from(u16::from_be_bytes([hi, lo]));
        if marker == 0xda {
            return bytes
                .get(pos..)
                .is_some_and(|scan| scan.windows(2).any(|w| w == [0xff, 0xd9]));
        }
    }
}
