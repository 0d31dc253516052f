//! Photo ingest of a 12 MP phone photo (goal: median ≤ 150 ms in release).
//!
//! `cargo bench -p caregrade --bench photo_ingest`

use std::hint::black_box;
use std::io::Cursor;

use caregrade::photos::{PhotoLimits, ingest};
use criterion::{Criterion, criterion_group, criterion_main};
use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, RgbImage};

/// A 4000×3000 JPEG that compresses like a photo: smooth gradients plus sensor-like noise.
fn twelve_megapixel_jpeg() -> Vec<u8> {
    let (w, h) = (4000u32, 3000u32);
    let mut state = 0x9e37_79b9_u32;
    let img = RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 24) as u8;
        let r = (x * 200 / w) as u8 + noise;
        let g = (y * 200 / h) as u8 + noise / 2;
        let b = ((x + y) * 180 / (w + h)) as u8 + (noise ^ 7) % 24;
        image::Rgb([r, g, b])
    });
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 92)
        .write_image(&img, w, h, image::ExtendedColorType::Rgb8)
        .unwrap_or_else(|e| panic!("encoding the fixture: {e}"));
    out.into_inner()
}

fn bench(c: &mut Criterion) {
    let jpeg = twelve_megapixel_jpeg();
    let limits = PhotoLimits::default();
    eprintln!("fixture: 4000x3000 JPEG, {} bytes", jpeg.len());
    let mut group = c.benchmark_group("photo_ingest");
    group.sample_size(20);
    group.bench_function("jpeg_12mp", |b| {
        b.iter(|| ingest(black_box(&jpeg), &limits).map(|p| p.thumbnail.bytes.len()))
    });
    // Same-run baselines: the decode alone (the floor), and the straightforward path through
    // `imageops::thumbnail` that the box + bilinear reduction replaces.
    group.bench_function("decode_only", |b| {
        b.iter(|| image::load_from_memory(black_box(&jpeg)).map(|i| i.width()))
    });
    group.bench_function("baseline_decode_imageops_thumbnail_encode", |b| {
        b.iter(|| {
            let img = image::load_from_memory(black_box(&jpeg)).ok()?;
            let thumb = img.thumbnail(1024, 1024);
            let mut out = Vec::new();
            JpegEncoder::new_with_quality(&mut out, 80)
                .encode_image(&thumb)
                .ok()?;
            Some(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
