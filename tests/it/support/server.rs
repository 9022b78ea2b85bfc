//! A server process the tests start (a Python TLS server, say) that writes the port it bound to
//! a file once it listens, and is killed when dropped.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait_until;

/// A running server and the port it listens on; killed on drop.
pub struct Served {
    child: Child,
    pub port: u16,
}

impl Served {
    /// Spawns `cmd` (which writes its port to `port_file`, atomically) and waits for the port.
    pub fn start(mut cmd: Command, port_file: &Path, what: &str) -> Served {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        let mut server = Served { child, port: 0 };
        wait_until(Duration::from_secs(10), &format!("{what}'s port"), || {
            port_file.exists()
        });
        server.port = fs::read_to_string(port_file)
            .expect("read the port file")
            .trim()
            .parse()
            .expect("a port number");
        server
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
