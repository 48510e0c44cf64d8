//! The local spool: where authenticated deliveries go while the database cannot take a write.
//!
//! A spool directory holds numbered segment files (`spool-000001.log`, …) and a `lock` file.
//! Each segment starts with an 8-byte magic and then holds records:
//!
//! ```text
//! [payload length: u32 LE][checksum: first 4 bytes of SHA-256(payload)][payload]
//! payload = [received_at: i64 LE, microseconds since the Unix epoch, UTC][raw body]
//! ```
//!
//! Appends are batched by the intake writer and fsynced once per batch, so a delivery answered
//! 200 from the spool is on disk. On open, every segment is scanned: complete records are kept,
//! a torn tail (a record cut short by a crash) is truncated away, and a record whose checksum
//! does not match stops the scan; the damaged file is copied aside (`*.corrupt`) for inspection
//! and the valid prefix is kept. Draining seals the segment being appended to, so that new
//! deliveries go to a fresh one, and removes each segment once all its records are committed to
//! the database.
//!
//! One process owns a spool directory: it holds an exclusive lock on `lock` while it runs.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::DateTime;
use sha2::{Digest, Sha256};

use crate::time::SourceTime;

/// The first bytes of every segment file.
pub const MAGIC: &[u8; 8] = b"ACMSPL01";
/// Bytes of a record before its payload.
const HEADER: usize = 8;
/// Bytes of `received_at` at the start of a payload.
const STAMP: usize = 8;
/// Largest payload accepted when reading (a body is at most 1 MiB; this leaves room).
const MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// Why the spool cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The batch would take the spool over its size limit.
    #[error("the spool is full ({used} of {max} bytes used; ACMIRROR_SPOOL_MAX_BYTES); it drains once the database takes writes again")]
    Full {
        /// Bytes in use.
        used: u64,
        /// The limit.
        max: u64,
    },
    /// Another process holds the directory.
    #[error("another process is using the spool directory {0}; give each acmirror process its own ACMIRROR_SPOOL_DIR")]
    Locked(PathBuf),
    /// A file operation failed.
    #[error("spool {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A delivery read back from the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spooled {
    /// When it arrived.
    pub received_at: SourceTime,
    /// The raw body.
    pub body: Vec<u8>,
}

/// What a scan of a segment found besides its complete records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The file ends inside a record (a write cut short); the tail starts at `offset`.
    TornTail {
        /// Where the valid prefix ends.
        offset: u64,
    },
    /// A complete record's checksum does not match; the scan stopped at `offset`.
    ChecksumMismatch {
        /// Where the damaged record starts.
        offset: u64,
    },
    /// The file does not start with the segment magic.
    BadMagic,
}

/// The result of reading a segment.
#[derive(Debug, Default)]
pub struct Scan {
    /// Complete, verified records in file order.
    pub records: Vec<Spooled>,
    /// Length of the valid prefix.
    pub valid_len: u64,
    /// What stopped the scan before the end of the file, if anything.
    pub damage: Option<Damage>,
}

fn checksum(payload: &[u8]) -> [u8; 4] {
    let d = Sha256::digest(payload);
    [d[0], d[1], d[2], d[3]]
}

fn micros(t: SourceTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn from_micros(us: i64) -> SourceTime {
    DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

/// Appends one record's bytes to `out`.
pub fn encode_record(out: &mut Vec<u8>, received_at: SourceTime, body: &[u8]) {
    let mut payload = Vec::with_capacity(STAMP + body.len());
    payload.extend_from_slice(&micros(received_at).to_le_bytes());
    payload.extend_from_slice(body);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(&payload));
    out.extend_from_slice(&payload);
}

/// Bytes a record takes on disk.
pub fn record_len(body: &[u8]) -> u64 {
    (HEADER + STAMP + body.len()) as u64
}

/// Reads the records of a segment's bytes (magic included).
pub fn scan(bytes: &[u8]) -> Scan {
    let mut out = Scan::default();
    if bytes.len() < MAGIC.len() {
        // A segment created just before a crash may lack part of its magic.
        if !MAGIC.starts_with(bytes) {
            out.damage = Some(Damage::BadMagic);
        } else if !bytes.is_empty() {
            out.damage = Some(Damage::TornTail { offset: 0 });
        }
        return out;
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        out.damage = Some(Damage::BadMagic);
        return out;
    }
    let mut pos = MAGIC.len();
    out.valid_len = pos as u64;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.len() < HEADER {
            out.damage = Some(Damage::TornTail { offset: pos as u64 });
            break;
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if !(STAMP..=MAX_PAYLOAD).contains(&len) {
            out.damage = Some(damage_at(pos, rest.len() == HEADER + len));
            break;
        }
        if rest.len() < HEADER + len {
            out.damage = Some(Damage::TornTail { offset: pos as u64 });
            break;
        }
        let payload = &rest[HEADER..HEADER + len];
        if checksum(payload) != rest[4..8] {
            // The last record of the file with a bad checksum is a write cut short (the file
            // grew before the data reached it); anywhere else it is damage.
            out.damage = Some(damage_at(pos, rest.len() == HEADER + len));
            break;
        }
        let mut stamp = [0u8; STAMP];
        stamp.copy_from_slice(&payload[..STAMP]);
        out.records.push(Spooled {
            received_at: from_micros(i64::from_le_bytes(stamp)),
            body: payload[STAMP..].to_vec(),
        });
        pos += HEADER + len;
        out.valid_len = pos as u64;
    }
    out
}

fn damage_at(pos: usize, at_end: bool) -> Damage {
    if at_end {
        Damage::TornTail { offset: pos as u64 }
    } else {
        Damage::ChecksumMismatch { offset: pos as u64 }
    }
}

/// A segment file and what it holds.
#[derive(Debug, Clone)]
struct Segment {
    seq: u64,
    path: PathBuf,
    bytes: u64,
    records: u64,
    oldest: Option<SourceTime>,
}

/// A segment sealed for draining: no more appends go to it.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// Its number; pass it to [`Spool::remove`] once its records are committed.
    pub seq: u64,
    /// Its file.
    pub path: PathBuf,
}

/// Size and age of what the spool holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Bytes on disk (records and segment headers).
    pub bytes: u64,
    /// Deliveries held.
    pub deliveries: u64,
    /// When the oldest held delivery arrived.
    pub oldest_received_at: Option<SourceTime>,
}

struct Inner {
    segments: VecDeque<Segment>,
    /// The file of the last segment, open for appending; `None` when it is sealed.
    active: Option<File>,
    next_seq: u64,
}

/// A spool directory, locked by this process.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    inner: Mutex<Inner>,
    _lock: File,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool").field("dir", &self.dir).finish()
    }
}

fn segment_name(seq: u64) -> String {
    format!("spool-{seq:06}.log")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    name.strip_prefix("spool-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

impl Spool {
    /// Opens (creating it if needed) and locks a spool directory, repairs torn tails and
    /// counts what it holds.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        // `File::try_lock` (an flock) needs Rust 1.89; the crate's declared MSRV is older and
        // is to be raised with the next toolchain update.
        #[allow(clippy::incompatible_msrv)]
        let locked = lock.try_lock();
        match locked {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(SpoolError::Locked(dir.to_owned()))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        let mut seqs = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            if let Some(seq) = entry.file_name().to_str().and_then(parse_segment_name) {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        let mut segments = VecDeque::new();
        for seq in &seqs {
            let path = dir.join(segment_name(*seq));
            if let Some(seg) = recover(*seq, &path)? {
                segments.push_back(seg);
            }
        }
        let next_seq = seqs.last().map_or(1, |s| s + 1);
        Ok(Self {
            dir: dir.to_owned(),
            max_bytes,
            inner: Mutex::new(Inner {
                segments,
                active: None,
                next_seq,
            }),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size limit in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counters at worst stale; keep going.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What the spool holds.
    pub fn stats(&self) -> SpoolStats {
        let inner = self.lock();
        SpoolStats {
            bytes: inner.segments.iter().map(|s| s.bytes).sum(),
            deliveries: inner.segments.iter().map(|s| s.records).sum(),
            oldest_received_at: inner.segments.iter().find_map(|s| s.oldest),
        }
    }

    /// Appends deliveries in order and fsyncs once; when it returns `Ok` they are on disk.
    /// Nothing is written when the batch would exceed the size limit.
    pub fn append(&self, batch: &[(SourceTime, &[u8])]) -> Result<(), SpoolError> {
        let mut buf = Vec::new();
        for (at, body) in batch {
            encode_record(&mut buf, *at, body);
        }
        let mut inner = self.lock();
        let used: u64 = inner.segments.iter().map(|s| s.bytes).sum();
        let header = if inner.active.is_none() {
            MAGIC.len() as u64
        } else {
            0
        };
        if used + header + buf.len() as u64 > self.max_bytes {
            return Err(SpoolError::Full {
                used,
                max: self.max_bytes,
            });
        }
        if inner.active.is_none() {
            let seq = inner.next_seq;
            let path = self.dir.join(segment_name(seq));
            let mut file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(io(&path))?;
            file.write_all(MAGIC).map_err(io(&path))?;
            // The new name must survive a crash too.
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&self.dir))?;
            inner.next_seq += 1;
            inner.segments.push_back(Segment {
                seq,
                path,
                bytes: MAGIC.len() as u64,
                records: 0,
                oldest: None,
            });
            inner.active = Some(file);
        }
        let Inner {
            segments, active, ..
        } = &mut *inner;
        let (Some(file), Some(seg)) = (active.as_mut(), segments.back_mut()) else {
            unreachable!("an active file always has its segment");
        };
        let written = file.write_all(&buf).and_then(|()| file.sync_data());
        if let Err(e) = written {
            // Cut off whatever part reached the file, so that the next append starts clean.
            let _ = file.set_len(seg.bytes);
            return Err(io(&seg.path)(e));
        }
        seg.bytes += buf.len() as u64;
        seg.records += batch.len() as u64;
        if seg.oldest.is_none() {
            seg.oldest = batch.first().map(|(at, _)| *at);
        }
        Ok(())
    }

    /// Seals every segment for draining (new appends start a fresh segment) and lists them,
    /// oldest first.
    pub fn seal(&self) -> Vec<Sealed> {
        let mut inner = self.lock();
        inner.active = None;
        inner
            .segments
            .iter()
            .map(|s| Sealed {
                seq: s.seq,
                path: s.path.clone(),
            })
            .collect()
    }

    /// Reads a sealed segment's records.
    pub fn read(&self, sealed: &Sealed) -> Result<Vec<Spooled>, SpoolError> {
        let bytes = std::fs::read(&sealed.path).map_err(io(&sealed.path))?;
        Ok(scan(&bytes).records)
    }

    /// Deletes a sealed segment whose records are all committed to the database.
    pub fn remove(&self, seq: u64) -> Result<(), SpoolError> {
        let mut inner = self.lock();
        let Some(i) = inner.segments.iter().position(|s| s.seq == seq) else {
            return Ok(());
        };
        if i + 1 == inner.segments.len() && inner.active.is_some() {
            // Never remove the segment being appended to (it was not sealed).
            return Ok(());
        }
        let path = inner.segments[i].path.clone();
        std::fs::remove_file(&path).map_err(io(&path))?;
        inner.segments.remove(i);
        Ok(())
    }
}

impl Spool {
    /// Removes the directory when it holds nothing (at a clean stop), so that an unused
    /// default spool leaves no trace. Returns whether it was removed.
    pub fn remove_if_empty(&self) -> bool {
        let inner = self.lock();
        if !inner.segments.is_empty() {
            return false;
        }
        let _ = std::fs::remove_file(self.dir.join("lock"));
        std::fs::remove_dir(&self.dir).is_ok()
    }
}

/// Scans a segment found on start, truncates a torn tail, keeps a damaged file's copy aside.
/// Returns `None` for an empty segment, which is removed.
/// What the spool directory `dir` holds, read without taking its lock and without changing
/// anything: for `status`, which runs beside the `serve` that owns the spool. Records being
/// appended at that moment may be missed; a torn tail is not counted.
pub fn peek(dir: &Path) -> Result<SpoolStats, SpoolError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SpoolStats::default()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut seqs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        if let Some(seq) = entry.file_name().to_str().and_then(parse_segment_name) {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    let mut stats = SpoolStats::default();
    for seq in seqs {
        let path = dir.join(segment_name(seq));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // Drained and removed since the listing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&path)(e)),
        };
        let found = scan(&bytes);
        stats.bytes += bytes.len() as u64;
        stats.deliveries += found.records.len() as u64;
        if stats.oldest_received_at.is_none() {
            stats.oldest_received_at = found.records.first().map(|r| r.received_at);
        }
    }
    Ok(stats)
}

fn recover(seq: u64, path: &Path) -> Result<Option<Segment>, SpoolError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io(path))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io(path))?;
    let found = scan(&bytes);
    match found.damage {
        None => {}
        Some(Damage::TornTail { offset }) => {
            tracing::warn!(segment = %path.display(), kept_deliveries = found.records.len(), cut_bytes = bytes.len() as u64 - offset, "spool: truncated a record cut short by a crash (it was never acknowledged)");
        }
        Some(damage) => {
            let aside = path.with_extension(format!(
                "corrupt-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S")
            ));
            std::fs::copy(path, &aside).map_err(io(&aside))?;
            tracing::error!(segment = %path.display(), copy = %aside.display(), ?damage, kept_deliveries = found.records.len(), "spool: a segment is damaged; its valid records are kept and the file is copied aside for inspection");
        }
    }
    if found.records.is_empty() {
        drop(file);
        std::fs::remove_file(path).map_err(io(path))?;
        return Ok(None);
    }
    if found.valid_len < bytes.len() as u64 {
        file.set_len(found.valid_len).map_err(io(path))?;
        file.seek(SeekFrom::End(0)).map_err(io(path))?;
        file.sync_all().map_err(io(path))?;
    }
    Ok(Some(Segment {
        seq,
        path: path.to_owned(),
        bytes: found.valid_len,
        records: found.records.len() as u64,
        oldest: found.records.first().map(|r| r.received_at),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> SourceTime {
        DateTime::from_timestamp(1_700_000_000 + s, 123_456_000)
            .expect("valid time")
            .naive_utc()
    }

    fn open(dir: &Path) -> Spool {
        Spool::open(dir, 1 << 20).expect("spool opens")
    }

    fn all(spool: &Spool) -> Vec<Spooled> {
        spool
            .seal()
            .iter()
            .flat_map(|s| spool.read(s).expect("segment reads"))
            .collect()
    }

    #[test]
    fn peek_counts_what_a_locked_spool_holds_without_changing_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(peek(dir.path()).expect("empty"), SpoolStats::default());
        assert_eq!(
            peek(&dir.path().join("missing")).expect("missing dir"),
            SpoolStats::default()
        );
        let spool = open(dir.path());
        spool
            .append(&[(at(5), b"a=1"), (at(6), b"b=2")])
            .expect("append");
        spool.seal();
        spool.append(&[(at(7), b"c=3")]).expect("append");
        let seen = peek(dir.path()).expect("peek beside the owner");
        assert_eq!(seen, spool.stats());
        assert_eq!(seen.deliveries, 3);
        assert_eq!(seen.oldest_received_at, Some(at(5)));
        assert_eq!(all(&spool).len(), 3, "peeking took nothing away");
    }

    #[test]
    fn records_come_back_in_order_with_their_receipt_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = open(dir.path());
        spool
            .append(&[(at(1), b"a=1"), (at(2), b"b=2")])
            .expect("append");
        spool.append(&[(at(3), b"c=3")]).expect("append");
        let stats = spool.stats();
        assert_eq!(stats.deliveries, 3);
        assert_eq!(stats.oldest_received_at, Some(at(1)));
        drop(spool);
        let spool = open(dir.path());
        let got = all(&spool);
        let bodies: Vec<&[u8]> = got.iter().map(|r| r.body.as_slice()).collect();
        assert_eq!(bodies, [&b"a=1"[..], b"b=2", b"c=3"]);
        assert_eq!(got[2].received_at, at(3));
    }

    #[test]
    fn a_torn_tail_is_truncated_and_the_complete_records_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = open(dir.path());
        spool.append(&[(at(1), b"first")]).expect("append");
        spool.append(&[(at(2), b"second")]).expect("append");
        let path = spool.seal()[0].path.clone();
        drop(spool);
        let full = std::fs::metadata(&path).expect("meta").len();
        // Cut the second record in the middle of its body.
        let cut = full - 3;
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(cut))
            .expect("truncate");
        let spool = open(dir.path());
        assert_eq!(spool.stats().deliveries, 1);
        let valid = (MAGIC.len() as u64) + record_len(b"first");
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), valid);
        // Appends after the repair read back cleanly.
        spool.append(&[(at(3), b"third")]).expect("append");
        let bodies: Vec<Vec<u8>> = all(&spool).into_iter().map(|r| r.body).collect();
        assert_eq!(bodies, [b"first".to_vec(), b"third".to_vec()]);
    }

    #[test]
    fn a_checksum_mismatch_is_detected() {
        let mut bytes = MAGIC.to_vec();
        encode_record(&mut bytes, at(1), b"one");
        let second = bytes.len();
        encode_record(&mut bytes, at(2), b"two");
        encode_record(&mut bytes, at(3), b"three");
        // Flip a byte of the second record's body.
        let last = second + HEADER + STAMP;
        bytes[last] ^= 0xff;
        let found = scan(&bytes);
        assert_eq!(found.records.len(), 1);
        assert_eq!(
            found.damage,
            Some(Damage::ChecksumMismatch {
                offset: second as u64
            })
        );
        // The same damage in the last record is a torn write.
        let mut tail = MAGIC.to_vec();
        encode_record(&mut tail, at(1), b"one");
        let n = tail.len();
        encode_record(&mut tail, at(2), b"two");
        let end = tail.len() - 1;
        tail[end] ^= 0xff;
        assert_eq!(
            scan(&tail).damage,
            Some(Damage::TornTail { offset: n as u64 })
        );
    }

    #[test]
    fn a_damaged_segment_is_copied_aside_and_its_valid_prefix_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = open(dir.path());
        spool
            .append(&[(at(1), b"one"), (at(2), b"two"), (at(3), b"three")])
            .expect("append");
        let path = spool.seal()[0].path.clone();
        drop(spool);
        let mut bytes = std::fs::read(&path).expect("read");
        let second = MAGIC.len() + record_len(b"one") as usize;
        bytes[second + HEADER + STAMP] ^= 0xff;
        std::fs::write(&path, &bytes).expect("write");
        let spool = open(dir.path());
        assert_eq!(spool.stats().deliveries, 1);
        let copies = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("corrupt"))
            .count();
        assert_eq!(copies, 1);
    }

    #[test]
    fn sealing_rotates_to_a_new_segment_and_drained_segments_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = open(dir.path());
        spool.append(&[(at(1), b"old")]).expect("append");
        let sealed = spool.seal();
        assert_eq!(sealed.len(), 1);
        // Arrivals during the drain go to a new segment.
        spool.append(&[(at(2), b"new")]).expect("append");
        assert_eq!(spool.stats().deliveries, 2);
        spool.remove(sealed[0].seq).expect("remove");
        assert!(!sealed[0].path.exists());
        let stats = spool.stats();
        assert_eq!(stats.deliveries, 1);
        assert_eq!(stats.oldest_received_at, Some(at(2)));
        let rest = spool.seal();
        assert_eq!(rest.len(), 1);
        assert_ne!(rest[0].seq, sealed[0].seq);
        spool.remove(rest[0].seq).expect("remove");
        assert_eq!(spool.stats(), SpoolStats::default());
    }

    #[test]
    fn a_batch_over_the_limit_is_refused_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let max = MAGIC.len() as u64 + record_len(&[0u8; 100]);
        let spool = Spool::open(dir.path(), max).expect("opens");
        spool.append(&[(at(1), &[0u8; 100])]).expect("fits");
        let err = spool.append(&[(at(2), b"x")]).expect_err("full");
        assert!(matches!(err, SpoolError::Full { .. }), "{err}");
        assert_eq!(spool.stats().deliveries, 1);
    }

    #[test]
    fn a_second_process_cannot_share_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = open(dir.path());
        let err = Spool::open(dir.path(), 1 << 20).expect_err("locked");
        assert!(matches!(err, SpoolError::Locked(_)), "{err}");
    }
}
