//! Thumbnails: small, upright, metadata-free JPEGs for lists and the public.

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

use super::{PhotoError, PhotoLimits};

/// A re-encoded JPEG thumbnail. It carries no EXIF (no GPS, no camera serial), so it is safe to
/// publish, and it is already rotated upright.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// JPEG bytes.
    pub bytes: Vec<u8>,
    /// Width in pixels (after orientation).
    pub width: u32,
    /// Height in pixels (after orientation).
    pub height: u32,
}

// By hand: the bytes would flood a log line.
impl std::fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumbnail")
            .field("bytes", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// MIME type of every thumbnail.
pub const THUMBNAIL_MIME: &str = "image/jpeg";

/// Scales `image` so its longest side is at most `limits.thumbnail_side`, applies the EXIF
/// orientation and encodes it as JPEG.
pub(super) fn make(
    image: &DynamicImage,
    orientation: Option<u8>,
    limits: &PhotoLimits,
) -> Result<Thumbnail, PhotoError> {
    // Thumbnails are for eyes: 8-bit RGB, alpha dropped, whatever the source.
    let rgb;
    let rgb = match image {
        DynamicImage::ImageRgb8(img) => img,
        other => {
            rgb = other.to_rgb8();
            &rgb
        }
    };
    let side = limits.thumbnail_side.max(1);
    let (w, h) = rgb.dimensions();
    let long = w.max(h);
    let mut small = if long <= side {
        DynamicImage::ImageRgb8(rgb.clone())
    } else {
        let (tw, th) = fit(w, h, side);
        // An integer box pre-reduction does the bulk of the work in one cache-friendly pass; the
        // area-averaging `thumbnail` then only sees a few hundred thousand pixels. Together they
        // average every source pixel (no aliasing) at about a third of `thumbnail` alone.
        let factor = long / side;
        let reduced;
        let source = if factor >= 2 {
            reduced = box_reduce(rgb, factor);
            &reduced
        } else {
            rgb
        };
        DynamicImage::ImageRgb8(image::imageops::thumbnail(source, tw, th))
    };
    if let Some(o) = orientation.and_then(Orientation::from_exif) {
        small.apply_orientation(o);
    }
    let (width, height) = (small.width(), small.height());
    let mut bytes = Vec::with_capacity(200 * 1024);
    JpegEncoder::new_with_quality(&mut bytes, limits.thumbnail_quality.clamp(1, 100))
        .encode_image(&small)
        .map_err(|e| PhotoError::Internal(format!("thumbnail encoding: {e}")))?;
    Ok(Thumbnail {
        bytes,
        width,
        height,
    })
}

/// Target size with the longest side `side`, aspect ratio kept, never zero.
fn fit(w: u32, h: u32, side: u32) -> (u32, u32) {
    let scale = |a: u32, b: u32| {
        let scaled = u64::from(a) * u64::from(side) / u64::from(b);
        u32::try_from(scaled).unwrap_or(side).max(1)
    };
    if w >= h {
        (side, scale(h, w))
    } else {
        (scale(w, h), side)
    }
}

/// Averages each `factor`×`factor` block into one pixel (edge pixels that do not fill a whole
/// block are dropped: at most `factor - 1` pixels of a multi-thousand-pixel side).
fn box_reduce(src: &RgbImage, factor: u32) -> RgbImage {
    let (w, h) = src.dimensions();
    let (ow, oh) = ((w / factor).max(1), (h / factor).max(1));
    let k = factor as usize;
    let (ow_us, w_us) = (ow as usize, w as usize);
    let raw = src.as_raw();
    let mut out = Vec::with_capacity(ow_us * oh as usize * 3);
    let mut sums = vec![0u32; ow_us * 3];
    let area = (factor * factor).max(1);
    for oy in 0..oh as usize {
        sums.fill(0);
        for dy in 0..k {
            let y = (oy * k + dy).min(h as usize - 1);
            let row = &raw[y * w_us * 3..(y + 1) * w_us * 3];
            for (sum, block) in sums.chunks_exact_mut(3).zip(row.chunks_exact(3 * k)) {
                for px in block.chunks_exact(3) {
                    sum[0] += u32::from(px[0]);
                    sum[1] += u32::from(px[1]);
                    sum[2] += u32::from(px[2]);
                }
            }
        }
        // Rounded, not truncated, so flat areas keep their exact value.
        out.extend(sums.iter().map(|&s| ((s + area / 2) / area) as u8));
    }
    RgbImage::from_raw(ow, oh, out).unwrap_or_else(|| RgbImage::new(ow, oh))
}
