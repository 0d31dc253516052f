//! Bounded, off-the-executor photo decoding.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{IngestedPhoto, PhotoError, PhotoLimits, ingest};

/// Runs [`ingest`] on the blocking pool with at most N decodes in flight.
///
/// A decoded 12 MP photo holds ~36 MB (RGB) and the thumbnail path briefly a few MB more, so with
/// 200 phones syncing at once an unbounded server would run out of memory; extra uploads wait for
/// a permit instead. Cloning shares the permits.
#[derive(Debug, Clone)]
pub struct PhotoDecoder {
    permits: Arc<Semaphore>,
    limits: Arc<PhotoLimits>,
}

impl PhotoDecoder {
    /// A decoder allowing `max_in_flight` concurrent decodes (at least one); the number of CPU
    /// cores is a good value, since decoding is CPU-bound.
    pub fn new(max_in_flight: usize, limits: PhotoLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
            limits: Arc::new(limits),
        }
    }

    /// The limits photos are checked against.
    pub fn limits(&self) -> &PhotoLimits {
        &self.limits
    }

    /// Checks, decodes and thumbnails `bytes`, waiting for a permit first. Generic over the
    /// owner so that a request body (`Vec<u8>`, `bytes::Bytes`, `Arc<[u8]>`) moves to the
    /// blocking pool without a copy.
    pub async fn ingest<B>(&self, bytes: B) -> Result<IngestedPhoto, PhotoError>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PhotoError::Internal("photo decoder closed".into()))?;
        let limits = Arc::clone(&self.limits);
        tokio::task::spawn_blocking(move || ingest(bytes.as_ref(), &limits))
            .await
            .map_err(|e| PhotoError::Internal(format!("photo decoding task failed: {e}")))?
    }
}
