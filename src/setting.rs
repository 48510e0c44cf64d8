//! What every setting shares, below the modules whose settings `config` gathers (`db`, `http`,
//! `webhook`): the error that names a setting, and how values are looked up.

/// A setting with a bad value; the message names the setting. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    /// The setting's environment-variable name.
    pub setting: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// A [`ConfigError`] for `setting`.
pub(crate) fn bad(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        message: message.into(),
    }
}

/// Reads the environment through a function so that tests need not mutate the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}
