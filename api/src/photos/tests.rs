//! Photo ingest against generated fixtures: good photos, hostile files and EXIF round trips.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use rstest::rstest;

use super::fixtures::{ExifSpec, PDF, exif_block, jpeg_of, picture, png_of, zero_png};
use super::*;

fn limits() -> PhotoLimits {
    PhotoLimits::default()
}

#[test]
fn jpeg_is_accepted_with_a_thumbnail() {
    let bytes = jpeg_of(&picture(1600, 1200), None);
    let photo = ingest(&bytes, &limits()).unwrap();
    assert_eq!((photo.width, photo.height), (1600, 1200));
    assert_eq!(photo.format, PhotoFormat::Jpeg);
    assert_eq!(photo.mime(), "image/jpeg");
    assert_eq!(photo.size, bytes.len() as u64);
    assert_eq!(photo.sha256, crate::store::sha256_hex(&bytes));
    assert_eq!(photo.exif, PhotoExif::default(), "no EXIF is normal");
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (1024, 768));
    let thumb = image::load_from_memory(&photo.thumbnail.bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (1024, 768));
}

#[test]
fn png_is_accepted_and_small_images_are_not_enlarged() {
    let bytes = png_of(&picture(300, 200));
    let photo = ingest(&bytes, &limits()).unwrap();
    assert_eq!(photo.format, PhotoFormat::Png);
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (300, 200));
    assert!(
        photo.thumbnail.bytes.starts_with(&[0xff, 0xd8]),
        "thumbnails are JPEG"
    );
}

#[test]
fn portrait_thumbnail_keeps_its_aspect() {
    let photo = ingest(&jpeg_of(&picture(900, 2400), None), &limits()).unwrap();
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (384, 1024));
}

#[rstest]
#[case::pdf(PDF.to_vec(), "PDF")]
#[case::empty(Vec::new(), "empty")]
#[case::text(b"hello, inspector".to_vec(), "not an image")]
#[case::heic(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(), "HEIC")]
fn non_images_are_unsupported(#[case] bytes: Vec<u8>, #[case] says: &str) {
    match ingest(&bytes, &limits()) {
        Err(PhotoError::UnsupportedType(msg)) => assert!(msg.contains(says), "{msg}"),
        other => panic!("expected UnsupportedType, got {other:?}"),
    }
}

#[test]
fn the_declared_type_does_not_matter_only_the_bytes() {
    // A PNG named photo.jpg is a PNG; a PDF named photo.jpg is refused (above).
    let photo = ingest(&png_of(&picture(40, 30)), &limits()).unwrap();
    assert_eq!(photo.format, PhotoFormat::Png);
}

#[test]
fn decompression_bomb_is_refused_from_its_header() {
    let bomb = zero_png(30_000, 30_000);
    assert!(
        bomb.len() < 8 * 1024 * 1024,
        "compressed: {} bytes",
        bomb.len()
    );
    let started = std::time::Instant::now();
    let err = ingest(&bomb, &limits()).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge(_)), "{err:?}");
    assert!(started.elapsed().as_secs() < 5, "refused without decoding");
}

#[test]
fn memory_limit_refuses_what_the_pixel_limits_would_let_through() {
    let bomb = zero_png(30_000, 30_000);
    let relaxed = PhotoLimits {
        max_side: 40_000,
        max_pixels: u64::MAX,
        ..limits()
    };
    match ingest(&bomb, &relaxed) {
        Err(PhotoError::TooLarge(msg)) => assert!(msg.contains("bytes"), "{msg}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn the_bomb_fixture_is_a_real_png() {
    // Guards the hand-built fixture: small enough to decode, it must decode to zeros.
    let img = image::load_from_memory(&zero_png(700, 300))
        .unwrap()
        .to_luma8();
    assert_eq!(img.dimensions(), (700, 300));
    assert!(img.as_raw().iter().all(|&p| p == 0));
}

#[rstest]
#[case::too_wide(12_001, 10)]
#[case::too_tall(10, 12_001)]
#[case::too_many_pixels(8_000, 7_000)]
fn oversize_dimensions_are_too_large(#[case] width: u32, #[case] height: u32) {
    let err = ingest(&zero_png(width, height), &limits()).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge(_)), "{err:?}");
}

#[test]
fn too_many_bytes_is_too_large() {
    let bytes = jpeg_of(&picture(64, 64), None);
    let tight = PhotoLimits {
        max_bytes: bytes.len() - 1,
        ..limits()
    };
    assert!(matches!(
        ingest(&bytes, &tight),
        Err(PhotoError::TooLarge(_))
    ));
}

#[rstest]
#[case::half(0.5)]
#[case::almost_all(0.99)]
fn truncated_jpeg_is_corrupt(#[case] keep: f64) {
    let bytes = jpeg_of(&picture(640, 480), None);
    let cut = &bytes[..(bytes.len() as f64 * keep) as usize];
    let err = ingest(cut, &limits()).unwrap_err();
    assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
}

#[test]
fn jpeg_without_its_end_marker_is_corrupt() {
    let bytes = jpeg_of(&picture(64, 48), None);
    assert_eq!(&bytes[bytes.len() - 2..], [0xff, 0xd9]);
    let err = ingest(&bytes[..bytes.len() - 2], &limits()).unwrap_err();
    assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
}

#[test]
fn jpeg_with_a_vendor_trailer_is_accepted() {
    let mut bytes = jpeg_of(&picture(64, 48), None);
    bytes.extend_from_slice(b"SEFHvendor trailer after the end-of-image marker");
    assert!(ingest(&bytes, &limits()).is_ok());
}

#[test]
fn truncated_png_is_corrupt() {
    let bytes = png_of(&picture(640, 480));
    let err = ingest(&bytes[..bytes.len() / 2], &limits()).unwrap_err();
    assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
}

#[test]
fn exif_time_gps_and_orientation_round_trip() {
    let exif = exif_block(&ExifSpec {
        taken: Some("2026:11:23 10:15:30"),
        offset: Some("+08:00"),
        // 31°13'50.40"N 121°28'22.80"E (Shanghai)
        gps: Some(((31, 13, 5040, "N"), (121, 28, 2280, "E"))),
        orientation: Some(1),
    });
    let photo = ingest(&jpeg_of(&picture(320, 240), Some(exif)), &limits()).unwrap();
    let taken = photo.exif.taken_at.unwrap();
    assert_eq!(taken.to_rfc3339(), "2026-11-23T10:15:30+08:00");
    let gps = photo.exif.gps.unwrap();
    assert!(
        (gps.latitude - (31.0 + 13.0 / 60.0 + 50.4 / 3600.0)).abs() < 1e-9,
        "{gps:?}"
    );
    assert!(
        (gps.longitude - (121.0 + 28.0 / 60.0 + 22.8 / 3600.0)).abs() < 1e-9,
        "{gps:?}"
    );
    assert_eq!(photo.exif.orientation, Some(1));
}

#[test]
fn southern_and_western_positions_are_negative_and_local_time_has_no_offset() {
    let exif = exif_block(&ExifSpec {
        taken: Some("2026:01:02 03:04:05"),
        gps: Some(((33, 52, 0, "S"), (151, 12, 0, "W"))),
        ..ExifSpec::default()
    });
    let photo = ingest(&jpeg_of(&picture(64, 48), Some(exif)), &limits()).unwrap();
    assert_eq!(
        photo.exif.taken_at.unwrap().to_rfc3339(),
        "2026-01-02T03:04:05"
    );
    let gps = photo.exif.gps.unwrap();
    assert!(gps.latitude < -33.8 && gps.longitude < -151.1, "{gps:?}");
}

#[test]
fn orientation_is_applied_to_the_thumbnail_and_metadata_stripped() {
    // Left half red, right half blue; orientation 6 means "rotate 90° clockwise to view", which
    // puts the left half on top.
    let img = image::RgbImage::from_fn(200, 100, |x, _| {
        if x < 100 {
            image::Rgb([255, 0, 0])
        } else {
            image::Rgb([0, 0, 255])
        }
    });
    let exif = exif_block(&ExifSpec {
        orientation: Some(6),
        gps: Some(((31, 13, 5040, "N"), (121, 28, 2280, "E"))),
        ..ExifSpec::default()
    });
    let photo = ingest(&jpeg_of(&img, Some(exif)), &limits()).unwrap();
    assert_eq!(photo.exif.orientation, Some(6));
    assert_eq!(
        (photo.width, photo.height),
        (200, 100),
        "the original is reported as stored"
    );
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (100, 200));
    let thumb = image::load_from_memory(&photo.thumbnail.bytes)
        .unwrap()
        .to_rgb8();
    let top = thumb.get_pixel(50, 20);
    let bottom = thumb.get_pixel(50, 180);
    assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom is blue: {bottom:?}"
    );
    // No EXIF at all in what the public sees: no GPS, no orientation to apply twice.
    let reread =
        exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&photo.thumbnail.bytes));
    assert!(reread.is_err(), "thumbnail carries EXIF");
}

#[test]
fn downscaled_thumbnail_keeps_the_picture() {
    // The box pre-reduction must average, not shift or darken: a flat colour stays that colour.
    let flat = image::RgbImage::from_pixel(3000, 2000, image::Rgb([10, 120, 240]));
    let photo = ingest(&png_of(&flat), &limits()).unwrap();
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (1024, 682));
    let thumb = image::load_from_memory(&photo.thumbnail.bytes)
        .unwrap()
        .to_rgb8();
    for px in [
        thumb.get_pixel(0, 0),
        thumb.get_pixel(512, 341),
        thumb.get_pixel(1023, 681),
    ] {
        for (got, want) in px.0.iter().zip([10u8, 120, 240]) {
            assert!(got.abs_diff(want) <= 3, "{px:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decoder_bounds_concurrency_and_reports_errors() {
    let decoder = PhotoDecoder::new(1, PhotoLimits::default());
    let good: Arc<[u8]> = jpeg_of(&picture(400, 300), None).into();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (decoder, bytes) = (decoder.clone(), Arc::clone(&good));
            tokio::spawn(async move { decoder.ingest(bytes).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().width, 400);
    }
    let err = decoder.ingest(PDF).await.unwrap_err();
    assert!(matches!(err, PhotoError::UnsupportedType(_)));
}

#[rstest]
#[case::box_then_bilinear(3000, 2000)]
#[case::bilinear_only(1500, 1100)]
fn fast_thumbnail_matches_the_reference_resampler(#[case] width: u32, #[case] height: u32) {
    // Smooth content, so a difference means misplaced or mis-weighted pixels, not noise that
    // two valid filters average differently.
    let source = image::RgbImage::from_fn(width, height, |x, y| {
        let (x, y) = (x * 255, y * 255);
        image::Rgb([
            (x / width) as u8,
            (y / height) as u8,
            ((x + y) / (width + height)) as u8,
        ])
    });
    let photo = ingest(&png_of(&source), &limits()).unwrap();
    let ours = image::load_from_memory(&photo.thumbnail.bytes)
        .unwrap()
        .to_rgb8();
    let reference = image::imageops::thumbnail(&source, ours.width(), ours.height());
    let diff: u64 = ours
        .as_raw()
        .iter()
        .zip(reference.as_raw())
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    let mean = diff as f64 / ours.as_raw().len() as f64;
    assert!(mean < 1.5, "mean absolute difference {mean}");
}

#[test]
fn extreme_panorama_still_gets_a_thumbnail() {
    let strip = image::RgbImage::from_pixel(12_000, 3, image::Rgb([200, 100, 50]));
    let photo = ingest(&png_of(&strip), &limits()).unwrap();
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (1024, 1));
    let thumb = image::load_from_memory(&photo.thumbnail.bytes)
        .unwrap()
        .to_rgb8();
    assert!(thumb.get_pixel(500, 0)[0] > 150, "not black");
}

#[tokio::test]
async fn ingest_then_store_original_and_thumbnail() {
    // The flow the upload handler follows: the original untouched, the thumbnail beside it.
    let dir = std::env::temp_dir().join(format!("caregrade-photo-flow-{}", std::process::id()));
    let config = crate::store::StoreConfig {
        local_dir: dir.clone(),
        ..Default::default()
    };
    let store = crate::store::EvidenceStore::open(&config).await.unwrap();
    let bytes = jpeg_of(&picture(800, 600), None);
    let photo = PhotoDecoder::new(2, PhotoLimits::default())
        .ingest(bytes.clone())
        .await;
    let photo = photo.unwrap();
    let original = store.put(&bytes, photo.mime()).await.unwrap();
    let thumb = store
        .put(&photo.thumbnail.bytes, THUMBNAIL_MIME)
        .await
        .unwrap();
    assert_eq!(original.key.sha256(), photo.sha256);
    assert_eq!(original.size, photo.size);
    assert_eq!(
        store.get(original.key.as_str()).await.unwrap(),
        bytes,
        "stored untouched"
    );
    assert_ne!(thumb.key, original.key);
    assert_eq!(PhotoError::TooLarge(String::new()).http_status(), 413);
    let _ = std::fs::remove_dir_all(dir);
}
