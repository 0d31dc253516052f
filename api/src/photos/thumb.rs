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
    let small = if long <= side {
        rgb.clone()
    } else {
        let (tw, th) = fit(w, h, side);
        // An integer box reduction averages every source pixel in one cache-friendly pass (no
        // aliasing from sensor noise or fine patterns); what remains is a reduction by less than
        // 2×, where bilinear sampling loses nothing visible. Together ~4× faster than
        // `imageops::thumbnail` on a 12 MP photo (docs/performance.md, "Photo ingest").
        // Capped so that column sums of the box fit in 16 bits.
        let factor = (long / side).min(256);
        if factor >= 2 && w.min(h) >= factor {
            bilinear(&box_reduce(rgb, factor), tw, th)
        } else {
            bilinear(rgb, tw, th)
        }
    };
    let mut small = DynamicImage::ImageRgb8(small);
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
///
/// Rows are summed vertically first into 16-bit column sums, a contiguous loop the compiler
/// vectorises, so the full-size image is read once at memory speed; the horizontal sums then run
/// on data already `factor` times smaller.
fn box_reduce(src: &RgbImage, factor: u32) -> RgbImage {
    let (w, h) = src.dimensions();
    let (ow, oh) = ((w / factor).max(1), (h / factor).max(1));
    let k = factor as usize;
    let stride = w as usize * 3;
    let raw = src.as_raw();
    let area = factor * factor;
    let mut out = Vec::with_capacity(ow as usize * oh as usize * 3);
    let mut columns = vec![0u16; stride];
    for block in raw.chunks_exact(stride * k).take(oh as usize) {
        columns.fill(0);
        for row in block.chunks_exact(stride) {
            for (sum, &v) in columns.iter_mut().zip(row) {
                *sum += u16::from(v);
            }
        }
        for group in columns.chunks_exact(3 * k) {
            let mut px = [0u32; 3];
            for c in group.chunks_exact(3) {
                px[0] += u32::from(c[0]);
                px[1] += u32::from(c[1]);
                px[2] += u32::from(c[2]);
            }
            // Rounded, not truncated, so flat areas keep their exact value.
            out.extend(px.map(|s| ((s + area / 2) / area) as u8));
        }
    }
    RgbImage::from_raw(ow, oh, out).unwrap_or_else(|| RgbImage::new(ow, oh))
}

/// Bilinear resampling with pixel centres aligned, in 8-bit fixed point. Only used for
/// reductions of less than 2×, where every source pixel still contributes.
fn bilinear(src: &RgbImage, tw: u32, th: u32) -> RgbImage {
    let (sw, sh) = src.dimensions();
    let stride = sw as usize * 3;
    let raw = src.as_raw();
    // Source position of each output coordinate: index of the left/top neighbour and the weight
    // (0–256) of the right/bottom one.
    let taps = |t: u32, s: u32| -> Vec<(usize, u32)> {
        (0..t)
            .map(|i| {
                let pos = ((f64::from(i) + 0.5) * f64::from(s) / f64::from(t) - 0.5).max(0.0);
                let i0 = (pos as u32).min(s - 1);
                let weight = if i0 + 1 < s {
                    ((pos - f64::from(i0)) * 256.0) as u32
                } else {
                    0
                };
                (i0 as usize, weight.min(256))
            })
            .collect()
    };
    let xs = taps(tw, sw);
    let ys = taps(th, sh);
    let mut out = Vec::with_capacity(tw as usize * th as usize * 3);
    let mut mixed = vec![0u16; stride];
    for &(y0, fy) in &ys {
        let top = &raw[y0 * stride..(y0 + 1) * stride];
        let bottom = if fy > 0 {
            &raw[(y0 + 1) * stride..(y0 + 2) * stride]
        } else {
            top
        };
        let (wt, wb) = ((256 - fy) as u16, fy as u16);
        for ((m, &a), &b) in mixed.iter_mut().zip(top).zip(bottom) {
            *m = u16::from(a) * wt + u16::from(b) * wb;
        }
        for &(x0, fx) in &xs {
            let left = x0 * 3;
            let right = if fx > 0 { left + 3 } else { left };
            for c in 0..3 {
                let v = u32::from(mixed[left + c]) * (256 - fx) + u32::from(mixed[right + c]) * fx;
                out.push(((v + (1 << 15)) >> 16) as u8);
            }
        }
    }
    RgbImage::from_raw(tw, th, out).unwrap_or_else(|| RgbImage::new(tw, th))
}
