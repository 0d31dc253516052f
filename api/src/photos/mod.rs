//! Evidence photo ingest: verify that uploaded bytes are a photo we can safely decode, read what
//! the inspection needs from EXIF, and make the thumbnail that lists and the public see.
//!
//! The original bytes are never modified (they are the evidence and are stored as received); only
//! the thumbnail is re-encoded, which also strips every piece of metadata from what is published.
//! Everything here is synchronous CPU work: call it through [`PhotoDecoder`], which bounds how many
//! decodes run at once and keeps them off the async workers.

mod decoder;
mod meta;
mod sniff;
mod thumb;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use image::{DynamicImage, ImageDecoder};

pub use decoder::PhotoDecoder;
pub use meta::{CaptureTime, GpsPosition, PhotoExif};
pub use sniff::PhotoFormat;
pub use thumb::{THUMBNAIL_MIME, Thumbnail};

/// Why a photo was refused, in the terms the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Not an image format we accept (a renamed PDF, HEIC, …): HTTP 415.
    #[error("unsupported file type: {0}")]
    UnsupportedType(String),
    /// Too many bytes, pixels or memory needed to decode: HTTP 413.
    #[error("photo too large: {0}")]
    TooLarge(String),
    /// Claims to be an image but does not decode (truncated upload, damaged file): HTTP 422.
    #[error("photo is damaged or truncated: {0}")]
    Corrupt(String),
    /// The decoder failed in a way that is our fault, not the photo's: HTTP 500.
    #[error("photo processing failed: {0}")]
    Internal(String),
}

impl PhotoError {
    /// The HTTP status the API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::UnsupportedType(_) => 415,
            Self::TooLarge(_) => 413,
            Self::Corrupt(_) => 422,
            Self::Internal(_) => 500,
        }
    }
}

/// Bounds on what a photo may cost to accept. The defaults fit phone cameras with a wide margin
/// (a 200 MP sensor bins to 12–50 MP output) and keep one decode under ~200 MB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest upload in bytes.
    pub max_bytes: usize,
    /// Largest width or height in pixels.
    pub max_side: u32,
    /// Largest width × height.
    pub max_pixels: u64,
    /// Largest decoded buffer in bytes; what actually stops a decompression bomb whose header
    /// stays under the pixel limits but whose pixel format is wide (16-bit RGBA).
    pub max_alloc: u64,
    /// Longest side of the thumbnail in pixels.
    pub thumbnail_side: u32,
    /// JPEG quality of the thumbnail (1–100).
    pub thumbnail_quality: u8,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        Self {
            max_bytes: 40 * 1024 * 1024,
            max_side: 12_000,
            max_pixels: 50_000_000,
            max_alloc: 256 * 1024 * 1024,
            thumbnail_side: 1024,
            thumbnail_quality: 80,
        }
    }
}

/// What ingest learnt about an accepted photo: the database columns and the thumbnail to store.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestedPhoto {
    /// SHA-256 of the original bytes, lowercase hex (also its store key's digest).
    pub sha256: String,
    /// Size of the original in bytes.
    pub size: u64,
    /// Width of the stored pixels (before EXIF orientation is applied).
    pub width: u32,
    /// Height of the stored pixels (before EXIF orientation is applied).
    pub height: u32,
    /// Format sniffed from the bytes, whatever the client declared.
    pub format: PhotoFormat,
    /// Capture time, GPS position and orientation, each `None` when absent.
    pub exif: PhotoExif,
    /// The re-encoded, upright, metadata-free thumbnail.
    pub thumbnail: Thumbnail,
}

impl IngestedPhoto {
    /// MIME type of the original.
    pub fn mime(&self) -> &'static str {
        self.format.mime()
    }
}

/// Checks, decodes and thumbnails one photo. Synchronous and CPU-heavy (~0.1 s and ~40 MB for a
/// 12 MP JPEG): servers should go through [`PhotoDecoder::ingest`].
pub fn ingest(bytes: &[u8], limits: &PhotoLimits) -> Result<IngestedPhoto, PhotoError> {
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge(format!(
            "{} bytes, at most {} accepted",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let format = sniff::sniff(bytes)?;
    let image = match format {
        PhotoFormat::Jpeg => {
            // zune-jpeg tolerates a missing tail by painting it grey; evidence must be whole.
            if !sniff::jpeg_is_complete(bytes) {
                return Err(PhotoError::Corrupt(
                    "JPEG ends before its end-of-image marker".into(),
                ));
            }
            let decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(bytes))
                .map_err(map_image_err)?;
            decode_within(decoder, limits)?
        }
        PhotoFormat::Png => {
            let decoder = image::codecs::png::PngDecoder::new(std::io::Cursor::new(bytes))
                .map_err(map_image_err)?;
            decode_within(decoder, limits)?
        }
    };
    let exif = meta::read(bytes);
    let thumbnail = thumb::make(&image, exif.orientation, limits)?;
    Ok(IngestedPhoto {
        sha256: crate::store::sha256_hex(bytes),
        size: bytes.len() as u64,
        width: image.width(),
        height: image.height(),
        format,
        exif,
        thumbnail,
    })
}

/// Decodes only after the header's dimensions and the decoded size are known to be within limits,
/// so a bomb is refused before a single pixel buffer is allocated.
fn decode_within(
    mut decoder: impl ImageDecoder,
    limits: &PhotoLimits,
) -> Result<DynamicImage, PhotoError> {
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt("image has no pixels".into()));
    }
    if width.max(height) > limits.max_side {
        return Err(PhotoError::TooLarge(format!(
            "{width}×{height} pixels, at most {} per side",
            limits.max_side
        )));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(PhotoError::TooLarge(format!(
            "{width}×{height} = {pixels} pixels, at most {}",
            limits.max_pixels
        )));
    }
    if decoder.total_bytes() > limits.max_alloc {
        return Err(PhotoError::TooLarge(format!(
            "decoding needs {} bytes, at most {}",
            decoder.total_bytes(),
            limits.max_alloc
        )));
    }
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_alloc);
    decoder.set_limits(image_limits).map_err(map_image_err)?;
    DynamicImage::from_decoder(decoder).map_err(map_image_err)
}

fn map_image_err(e: image::ImageError) -> PhotoError {
    use image::ImageError as E;
    match e {
        E::Limits(l) => PhotoError::TooLarge(l.to_string()),
        E::Unsupported(u) => PhotoError::UnsupportedType(u.to_string()),
        E::Decoding(_) | E::IoError(_) | E::Parameter(_) => PhotoError::Corrupt(e.to_string()),
        E::Encoding(_) => PhotoError::Internal(e.to_string()),
    }
}
