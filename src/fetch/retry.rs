//! Retry policy: which failures are transient, and exponential backoff with full jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::failure::FetchError;

/// The first backoff's upper bound; each retry doubles it.
const BASE: Duration = Duration::from_millis(250);
/// The largest backoff upper bound.
const CAP: Duration = Duration::from_secs(10);

/// The delay before retry number `attempt` (0-based): uniformly random in
/// `[0, min(CAP, BASE * 2^attempt)]`, so a thousand nodes that failed together do not retry
/// together.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(CAP);
    let ceiling_ms = ceiling.as_millis() as u64;
    Duration::from_millis(random() % (ceiling_ms + 1))
}

/// A random number from std's randomly seeded hasher; good enough for jitter.
fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}

/// Runs `op` until it succeeds, fails for good, or has been retried `retries` times; counts
/// every request in `attempts`, and tells `failed` each failure (a fetch records the last one
/// for its deadline error).
pub(crate) async fn with_retries<T>(
    retries: u32,
    what: &str,
    attempts: &mut u32,
    failed: &dyn Fn(&FetchError),
    mut op: impl AsyncFnMut() -> Result<T, FetchError>,
) -> Result<T, FetchError> {
    let mut retry = 0;
    loop {
        *attempts += 1;
        let result = op().await;
        if let Err(e) = &result {
            failed(e);
        }
        match result {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && retry < retries => {
                let delay = backoff(retry);
                retry += 1;
                tracing::warn!(what, attempt = retry, of = retries, delay_ms = delay.as_millis() as u64, error = %crate::causes::chain(&e), "transient failure, retrying");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_ceiling_and_varies() {
        for attempt in 0..40 {
            let ceiling = BASE.saturating_mul(1 << attempt.min(16)).min(CAP);
            assert!(backoff(attempt) <= ceiling, "attempt {attempt}");
        }
        let samples: std::collections::HashSet<_> = (0..50).map(|_| backoff(6)).collect();
        assert!(samples.len() > 1, "no jitter: {samples:?}");
    }
}
