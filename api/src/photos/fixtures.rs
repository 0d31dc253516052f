//! Photo fixtures generated in memory, so the repository holds no binary test files.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ImageEncoder, RgbImage};

/// A camera-like picture: a diagonal gradient with deterministic noise, so JPEG has real work.
pub fn picture(width: u32, height: u32) -> RgbImage {
    let mut state = 0x2545_f491_u32;
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state & 0x1f) as u8;
        let gx = (x * 255 / width.max(1)) as u8;
        let gy = (y * 255 / height.max(1)) as u8;
        image::Rgb([
            gx.saturating_add(noise),
            gy.saturating_add(noise / 2),
            128u8 ^ noise,
        ])
    })
}

/// JPEG bytes of `img`, with an EXIF block when given.
pub fn jpeg_of(img: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).expect("JPEG takes EXIF");
    }
    encoder
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode");
    out
}

/// PNG bytes of `img`.
pub fn png_of(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode");
    out
}

/// Degrees, minutes, seconds × 100 and the N/S/E/W reference.
pub type Dms<'a> = (u32, u32, u32, &'a str);

/// What to put in a generated EXIF block.
#[derive(Default)]
pub struct ExifSpec<'a> {
    pub taken: Option<&'a str>,
    pub offset: Option<&'a str>,
    /// Latitude, then longitude.
    pub gps: Option<(Dms<'a>, Dms<'a>)>,
    pub orientation: Option<u16>,
}

/// A TIFF-structured EXIF block as `JpegEncoder::set_exif_metadata` expects.
pub fn exif_block(spec: &ExifSpec<'_>) -> Vec<u8> {
    let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
    let dms = |(d, m, s100, _): Dms<'_>| {
        Value::Rational(vec![
            Rational { num: d, denom: 1 },
            Rational { num: m, denom: 1 },
            Rational {
                num: s100,
                denom: 100,
            },
        ])
    };
    let mut fields = Vec::new();
    let mut add = |tag, value| {
        fields.push(Field {
            tag,
            ifd_num: In::PRIMARY,
            value,
        })
    };
    if let Some(t) = spec.taken {
        add(Tag::DateTimeOriginal, ascii(t));
    }
    if let Some(o) = spec.offset {
        add(Tag::OffsetTimeOriginal, ascii(o));
    }
    if let Some((lat, lon)) = spec.gps {
        add(Tag::GPSLatitude, dms(lat));
        add(Tag::GPSLatitudeRef, ascii(lat.3));
        add(Tag::GPSLongitude, dms(lon));
        add(Tag::GPSLongitudeRef, ascii(lon.3));
    }
    if let Some(o) = spec.orientation {
        add(Tag::Orientation, Value::Short(vec![o]));
    }
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).expect("EXIF block");
    out.into_inner()
}

/// A valid PNG of `width`×`height` all-zero 8-bit grey pixels, built by hand in a few
/// milliseconds per megabyte: a 30,000×30,000 "decompression bomb" would take seconds and 900 MB
/// through an encoder. Its deflate stream is one fixed-Huffman block of length-258 distance-1
/// matches (13 bits per 258 zero bytes), the densest plain deflate allows.
pub fn zero_png(width: u32, height: u32) -> Vec<u8> {
    let raw_len = u64::from(height) * (1 + u64::from(width)); // each row: filter byte + pixels
    let mut bits = BitWriter::default();
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = fixed Huffman
    bits.code(0b0011_0000, 8); // literal 0
    let mut left = raw_len - 1;
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length symbol 285 = 258
        bits.code(0, 5); // distance symbol 0 = 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0b0011_0000, 8);
    }
    bits.code(0, 7); // end of block
    let mut zlib = vec![0x78, 0x01];
    zlib.extend(bits.finish());
    // Adler-32 of n zeros: a stays 1, b adds 1 per byte.
    let adler = (((raw_len % 65_521) as u32) << 16) | 1;
    zlib.extend(adler.to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit greyscale, deflate, adaptive filter, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend((data.len() as u32).to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    png.extend(kind);
    png.extend(data);
    png.extend(crc.finalize().to_be_bytes());
}

/// Deflate's bit order: values LSB first, Huffman codes MSB first.
#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// The start of a real PDF, as when a document is renamed to `.jpg`.
pub const PDF: &[u8] =
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n";
