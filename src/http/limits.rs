//! Bounds on what unauthenticated or slow clients can make the server hold: connections,
//! time, and the memory of request bodies in flight.

use std::time::Duration;

use crate::setting::{ConfigError, EnvLookup};

/// Descriptors kept free for the database, log files and the listener itself when the
/// connection bound is checked against the process's descriptor limit.
const RESERVED_DESCRIPTORS: u64 = 64;

/// The HTTP server's limits (`ACMIRROR_MAX_CONNECTIONS`, `ACMIRROR_LISTEN_BACKLOG`,
/// `ACMIRROR_BODY_TIMEOUT`, `ACMIRROR_REQUEST_TIMEOUT`, `ACMIRROR_BODY_MEMORY_MB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections open at once, across all workers; more wait in the listen backlog.
    pub max_connections: usize,
    /// Connections the kernel queues while the server is at `max_connections`.
    pub backlog: u32,
    /// Longest time a request body may take to arrive, from the end of its head.
    pub body_timeout: Duration,
    /// Longest time a request may take from its head to its answer.
    pub request_timeout: Duration,
    /// Bytes of request bodies held in memory at once, across all workers.
    pub body_memory: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 1000,
            backlog: 1024,
            body_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            body_memory: 64 * 1024 * 1024,
        }
    }
}

/// The same settings as read from the `--config` file.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileLimits {
    /// `max_connections`.
    pub max_connections: Option<u64>,
    /// `listen_backlog`.
    pub listen_backlog: Option<u64>,
    /// `body_timeout`, seconds.
    pub body_timeout: Option<u64>,
    /// `request_timeout`, seconds.
    pub request_timeout: Option<u64>,
    /// `body_memory_mb`.
    pub body_memory_mb: Option<u64>,
}

fn number(
    env: EnvLookup<'_>,
    setting: &'static str,
    from_file: Option<u64>,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
) -> Result<Option<u64>, ConfigError> {
    let out_of_range = |shown: String| ConfigError {
        setting,
        message: format!(
            "{shown} is not a whole number of {unit} from {} to {}",
            range.start(),
            range.end()
        ),
    };
    match env(setting) {
        Some(raw) if !raw.trim().is_empty() => match raw.trim().parse::<u64>() {
            Ok(v) if range.contains(&v) => Ok(Some(v)),
            _ => Err(out_of_range(format!("{raw:?}"))),
        },
        _ => match from_file {
            Some(v) if !range.contains(&v) => Err(out_of_range(v.to_string())),
            other => Ok(other),
        },
    }
}

impl HttpLimits {
    /// Reads the limits from the environment, then the file, then the defaults.
    pub fn load(env: EnvLookup<'_>, file: FileLimits) -> Result<Self, ConfigError> {
        let d = Self::default();
        let max_connections = number(
            env,
            "ACMIRROR_MAX_CONNECTIONS",
            file.max_connections,
            16..=1_000_000,
            "connections",
        )?;
        let backlog = number(
            env,
            "ACMIRROR_LISTEN_BACKLOG",
            file.listen_backlog,
            16..=65_535,
            "connections",
        )?;
        let body_timeout = number(
            env,
            "ACMIRROR_BODY_TIMEOUT",
            file.body_timeout,
            1..=600,
            "seconds",
        )?;
        let request_timeout = number(
            env,
            "ACMIRROR_REQUEST_TIMEOUT",
            file.request_timeout,
            1..=3600,
            "seconds",
        )?;
        let body_memory_mb = number(
            env,
            "ACMIRROR_BODY_MEMORY_MB",
            file.body_memory_mb,
            2..=4095,
            "MiB",
        )?;
        let limits = Self {
            max_connections: max_connections.map_or(d.max_connections, |v| v as usize),
            backlog: backlog.map_or(d.backlog, |v| v as u32),
            body_timeout: body_timeout.map_or(d.body_timeout, Duration::from_secs),
            request_timeout: request_timeout.map_or(d.request_timeout, Duration::from_secs),
            body_memory: body_memory_mb.map_or(d.body_memory, |v| v as usize * 1024 * 1024),
        };
        if limits.request_timeout < limits.body_timeout {
            return Err(ConfigError {
                setting: "ACMIRROR_REQUEST_TIMEOUT",
                message: format!(
                    "{} s is shorter than ACMIRROR_BODY_TIMEOUT ({} s); a request includes its body",
                    limits.request_timeout.as_secs(),
                    limits.body_timeout.as_secs()
                ),
            });
        }
        Ok(limits)
    }

    /// The connection bound to apply: the configured one, lowered to fit the process's open
    /// file limit (with a reserve for the database and logs) so that accepting a connection can
    /// never take the last descriptor. The second value is the soft limit when it lowered it.
    pub fn effective_max_connections(&self) -> (usize, Option<u64>) {
        match open_file_limit() {
            Some(soft) if (self.max_connections as u64) + RESERVED_DESCRIPTORS > soft => {
                let fitted = soft.saturating_sub(RESERVED_DESCRIPTORS).max(16);
                (fitted as usize, Some(soft))
            }
            _ => (self.max_connections, None),
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process (`ulimit -n`), read from `/proc/self/limits`.
pub fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&text)
}

fn parse_open_file_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(env: &[(&str, &str)], file: FileLimits) -> Result<HttpLimits, ConfigError> {
        let map: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HttpLimits::load(&|k| map.get(k).cloned(), file)
    }

    #[test]
    fn defaults_bound_every_resource() {
        let l = load(&[], FileLimits::default()).expect("defaults are valid");
        assert_eq!(l, HttpLimits::default());
        assert!(l.body_timeout < Duration::from_secs(60));
        assert!(l.request_timeout < Duration::from_secs(60));
    }

    #[test]
    fn environment_beats_file() {
        let file = FileLimits {
            max_connections: Some(300),
            body_timeout: Some(7),
            ..FileLimits::default()
        };
        let l = load(&[("ACMIRROR_MAX_CONNECTIONS", "500")], file).expect("valid");
        assert_eq!(l.max_connections, 500);
        assert_eq!(l.body_timeout, Duration::from_secs(7));
    }

    #[test]
    fn bad_values_name_their_setting() {
        for (key, value) in [
            ("ACMIRROR_MAX_CONNECTIONS", "lots"),
            ("ACMIRROR_MAX_CONNECTIONS", "0"),
            ("ACMIRROR_BODY_TIMEOUT", "0"),
            ("ACMIRROR_BODY_MEMORY_MB", "1"),
            ("ACMIRROR_REQUEST_TIMEOUT", "5"),
        ] {
            let err = load(&[(key, value)], FileLimits::default()).expect_err(key);
            assert_eq!(err.setting, key, "{err}");
        }
    }

    #[test]
    fn reads_the_soft_descriptor_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             63432                63432                processes \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_file_limit(text), Some(1024));
        assert_eq!(parse_open_file_limit("nothing here"), None);
    }
}
