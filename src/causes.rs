//! An error and its chain of causes joined into one line, for log fields and list entries.

/// Joins an error and its sources into one line, for per-mirror reasons and log fields.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // reqwest and hyper often repeat the inner message in the outer one.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
