//! The network side of one fetch: its runtime and transport, and what it was doing, for the
//! error when the deadline cuts it short.

use reqwest::Url;

use super::failure::FetchError;
use super::transport::Transport;
use crate::http;

/// The async runtime and transport, built only when something must be downloaded.
pub(crate) struct Network {
    pub runtime: tokio::runtime::Runtime,
    pub transport: Transport,
    /// Whether a terminal may show a progress bar for this download.
    pub progress_bar: bool,
    /// What the download was doing, for the error if the deadline cuts it short.
    pub doing: std::cell::RefCell<Doing>,
}

/// The state a deadline error reports.
#[derive(Debug, Default)]
pub(crate) struct Doing {
    /// The URL being fetched.
    url: Option<String>,
    /// The last failure, retried or not, with its causes.
    last_failure: Option<String>,
}

impl Network {
    pub fn fetching(&self, url: &Url) {
        self.doing.borrow_mut().url = Some(http::redact(url));
    }

    pub fn failed(&self, e: &FetchError) {
        self.doing.borrow_mut().last_failure = Some(crate::causes::chain(e));
    }

    /// What was happening when time ran out.
    pub fn doing(&self) -> String {
        let doing = self.doing.borrow();
        match (&doing.last_failure, &doing.url) {
            (Some(failure), _) => format!("the last failure: {failure}"),
            (None, Some(url)) => format!("no request had failed; it was still fetching {url}"),
            (None, None) => "no request had been sent yet".to_string(),
        }
    }
}
