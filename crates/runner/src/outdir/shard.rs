//! A shard of an experiment (`--shard K/N`) and the names of its own files in the output
//! directory: `runs.shard-K-of-N.jsonl` and `manifest.shard-K-of-N.json`.

use std::fmt;

/// Shard `index` of `count`: the runs whose index `i` has `i % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: usize,
    /// How many shards there are (at least 1, more than `index`).
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// When `count` is 0 or `index` is not below it.
    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            return Err("the number of shards must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard {index} does not exist: shards of {count} are numbered 0 to {}",
                count - 1
            ));
        }
        Ok(Self { index, count })
    }

    /// Whether the run at position `run_index` of the experiment belongs to this shard.
    pub fn contains(self, run_index: usize) -> bool {
        run_index % self.count == self.index
    }

    /// The shard's journal in the output directory: `runs.shard-K-of-N.jsonl`.
    pub fn journal_name(self) -> String {
        self.file_name("runs", "jsonl")
    }

    /// The shard's manifest in the output directory: `manifest.shard-K-of-N.json`.
    pub fn manifest_name(self) -> String {
        self.file_name("manifest", "json")
    }

    /// The lock file that keeps two processes from running this shard at once:
    /// `descent.shard-K-of-N.lock` (see [`crate::outdir::lock`]).
    pub fn lock_name(self) -> String {
        self.file_name("descent", "lock")
    }

    /// The shard whose lock file is called `name`, if it is a shard lock's name.
    pub fn of_lock(name: &str) -> Option<Self> {
        Self::of_file_name(name, "descent", "lock")
    }

    /// The shard whose journal is called `name`, if it is a shard journal's name.
    pub fn of_journal(name: &str) -> Option<Self> {
        Self::of_file_name(name, "runs", "jsonl")
    }

    /// The shard whose manifest is called `name`, if it is a shard manifest's name.
    pub fn of_manifest(name: &str) -> Option<Self> {
        Self::of_file_name(name, "manifest", "json")
    }

    /// The shard's own file `<stem>.shard-K-of-N.<extension>`.
    pub fn file_name(self, stem: &str, extension: &str) -> String {
        format!("{stem}.shard-{}-of-{}.{extension}", self.index, self.count)
    }

    fn of_file_name(name: &str, stem: &str, extension: &str) -> Option<Self> {
        let middle = name
            .strip_prefix(stem)?
            .strip_prefix(".shard-")?
            .strip_suffix(extension)?
            .strip_suffix('.')?;
        let (index, count) = middle.split_once("-of-")?;
        let shard = Self::new(index.parse().ok()?, count.parse().ok()?).ok()?;
        // Only the canonical spelling (no leading zeros or signs) names a shard's file.
        (shard.file_name(stem, extension) == name).then_some(shard)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
