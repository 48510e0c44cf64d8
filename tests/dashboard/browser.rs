//! The page in headless Chromium (see `browser_test` below for what it needs).
