//! Download progress: a bar on a terminal, periodic log lines under systemd.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a log line is written when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// How often the terminal bar is redrawn.
const DRAW_EVERY: Duration = Duration::from_millis(100);

/// Progress of one download.
#[derive(Debug)]
pub struct Progress {
    binary: &'static str,
    terminal: bool,
    started: Instant,
    last: Instant,
    total: Option<u64>,
    done: u64,
    start_offset: u64,
    /// Bytes received, summed over several downloads (`mirror`'s overall bar).
    counter: Option<Arc<AtomicU64>>,
}

impl Progress {
    /// Starts reporting a download of `binary`; a bar only when `bar` and stderr is a terminal.
    pub fn new(binary: &'static str, bar: bool) -> Progress {
        let now = Instant::now();
        Progress {
            binary,
            terminal: bar && std::io::stderr().is_terminal(),
            started: now,
            last: now,
            total: None,
            done: 0,
            start_offset: 0,
            counter: None,
        }
    }

    /// Also adds every byte received to `counter`.
    pub fn counting(mut self, counter: Arc<AtomicU64>) -> Progress {
        self.counter = Some(counter);
        self
    }

    /// A new response started, at `offset` bytes of `total`.
    pub fn restart(&mut self, offset: u64, total: Option<u64>) {
        self.start_offset = offset;
        self.done = offset;
        self.total = total;
        self.started = Instant::now();
        self.last = self.started;
    }

    /// `n` more bytes arrived.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(c) = &self.counter {
            c.fetch_add(n, Ordering::Relaxed);
        }
        let now = Instant::now();
        let every = if self.terminal { DRAW_EVERY } else { LOG_EVERY };
        if now.duration_since(self.last) < every {
            return;
        }
        self.last = now;
        if self.terminal {
            self.draw();
        } else {
            tracing::info!(
                binary = self.binary,
                bytes = self.done,
                total = self.total.unwrap_or(0),
                rate = %rate(self.done - self.start_offset, now.duration_since(self.started)),
                "still downloading"
            );
        }
    }

    fn draw(&self) {
        let line = bar_line(
            self.binary,
            self.done,
            self.total,
            self.done - self.start_offset,
            self.started.elapsed(),
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }

    /// Clears the bar; the caller logs the summary.
    pub fn finish(&self) {
        if self.terminal {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    /// Seconds since the current response started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Bytes received since the current response started.
    pub fn transferred(&self) -> u64 {
        self.done - self.start_offset
    }
}

/// The terminal line: `kubelet [#####-----] 50% 5.0 MiB / 10.0 MiB, 1.0 MiB/s, ETA 5s`; without a
/// total (no Content-Length), the bytes and the rate alone. Pure.
pub fn bar_line(
    binary: &str,
    done: u64,
    total: Option<u64>,
    this_response: u64,
    elapsed: Duration,
) -> String {
    const WIDTH: u64 = 30;
    let speed = rate(this_response, elapsed);
    match total {
        Some(total) if total > 0 => {
            let done = done.min(total);
            let filled = (done * WIDTH / total) as usize;
            let per_sec = this_response as f64 / elapsed.as_secs_f64().max(0.001);
            let eta = if per_sec >= 1.0 {
                duration(Duration::from_secs_f64((total - done) as f64 / per_sec))
            } else {
                "?".to_string()
            };
            format!(
                "{binary} [{}{}] {:>3}% {} / {}, {speed}, ETA {eta}",
                "#".repeat(filled),
                "-".repeat(WIDTH as usize - filled),
                done * 100 / total,
                human(done),
                human(total),
            )
        }
        _ => format!("{binary} {}, {speed}", human(done)),
    }
}

/// `45s`, `3m07s`, `1h02m`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// `12.3 MiB`.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", b / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", b / 1_048_576.0),
        _ => format!("{:.2} GiB", b / 1_073_741_824.0),
    }
}

/// `12.3 MiB/s`.
pub fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    format!("{}/s", human((bytes as f64 / secs) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(50 * 1_048_576), "50.0 MiB");
        assert_eq!(human(3 * 1_073_741_824), "3.00 GiB");
        assert_eq!(rate(2 * 1_048_576, Duration::from_secs(2)), "1.0 MiB/s");
    }

    #[test]
    fn the_terminal_line_shows_total_rate_and_eta() {
        let mib = 1_048_576;
        for (done, total, this, secs, want) in [
            (
                5 * mib,
                Some(10 * mib),
                5 * mib,
                5,
                "kubelet [###############---------------]  50% 5.0 MiB / 10.0 MiB, 1.0 MiB/s, ETA 5s",
            ),
            // Resumed at 8 MiB: the rate and ETA count this response's bytes only.
            (
                9 * mib,
                Some(10 * mib),
                mib,
                1,
                "kubelet [###########################---]  90% 9.0 MiB / 10.0 MiB, 1.0 MiB/s, ETA 1s",
            ),
            (
                0,
                Some(300 * mib),
                0,
                1,
                "kubelet [------------------------------]   0% 0 B / 300.0 MiB, 0 B/s, ETA ?",
            ),
            (3 * mib, None, 3 * mib, 3, "kubelet 3.0 MiB, 1.0 MiB/s"),
        ] {
            let line = bar_line("kubelet", done, total, this, Duration::from_secs(secs));
            assert_eq!(line, want);
        }
        assert_eq!(duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }
}
