//! keyhound's detection engine: a compiled rule set that finds secrets in `&[u8]`.
//!
//! Two stages, no I/O beyond an optional [`std::io::Read`] for streamed inputs:
//! 1. **Prefilter**: every rule's keywords go into one Aho-Corasick automaton; an input with no
//!    keyword costs one pass of it and nothing else.
//! 2. **Confirm**: for each keyword hit, only that rule's regex runs, in a window around the hit
//!    bounded by the pattern's maximum match length (or the enclosing line when unbounded).
//!    Regexes compile on a rule's first hit. Candidates then pass offline validators (checksums,
//!    JWT structure), an entropy floor and the placeholder filter.
//!
//! Encoded text is decoded and scanned once more (one level deep): long base64 and hex runs,
//! percent-encoded URLs and form bodies, JSON and YAML string escapes. Findings in decoded text
//! point at their encoded bytes in the input, and say how they were decoded ([`Decoding`]).

mod base64_runs;
mod decoders;
pub mod fake;
#[doc(hidden)]
pub mod fuzzing;
mod location;
pub mod prefilter;
mod required;
mod stream;
pub mod validate;

use std::ops::Range;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use keyhound_rules::{Confidence, LoadedRule, Rule, RuleSet};
use regex_automata::meta;
use regex_automata::util::syntax;

pub use decoders::Decoding;
pub use location::{Position, Span};
pub use stream::{STREAM_CHUNK, STREAM_OVERLAP};

/// Unbounded patterns search the enclosing line, at most this far either side of the keyword.
const UNBOUNDED_REACH: usize = 4096;
/// The prefilter's hits are taken and confirmed this many input bytes at a time, so that an
/// input full of keywords (64 MiB of `AKIA`: 16.7 million hits) holds one slab's hits at once
/// (that file peaks at 92 MB, 1.1 GB when all hits were held). Each slab visits the lazy DFAs
/// of every rule it has hits of, which costs cache misses when keywords of many rules are
/// dense: 8 MB of random text with a built-in keyword every 40 bytes took 13 % more CPU than
/// in one piece with 1 MiB slabs, 30 % with 256 KiB.
const HIT_SLAB: usize = 1 << 20;
/// Patterns longer than this are treated as unbounded (line windows).
const MAX_WINDOW: usize = 256 * 1024;

/// A rule set that could not be turned into an engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The keyword automaton could not be built.
    #[error("cannot build the keyword prefilter: {0}")]
    Prefilter(#[from] prefilter::PrefilterError),
    /// A rule's pattern does not compile.
    #[error("{origin}: rule `{rule_id}`: pattern does not compile: {message}")]
    Pattern {
        /// The rules file.
        origin: String,
        /// The rule.
        rule_id: String,
        /// The compiler's message.
        message: String,
    },
}

/// Engine-wide options.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Decode encoded text (base64 and hex runs, percent-encoding, string escapes) and scan it.
    pub decode: bool,
    /// The shortest base64 run that is decoded.
    pub base64_min_len: usize,
    /// The shortest run of hex digits that is decoded.
    pub hex_min_len: usize,
    /// The longest span of percent-encoded or escaped text decoded at once (the part of a line
    /// around its first escape).
    pub max_segment_len: usize,
    /// At most this many runs and spans are decoded per input; the rest are counted in
    /// [`ScanStats::decode_capped`].
    pub max_decoded_runs: usize,
    /// Time allowed to scan one input, for each started [`BUDGET_UNIT`] of it; a streamed
    /// input's budget is per part scanned at once (at most [`STREAM_CHUNK`] bytes and the
    /// overlaps), and its scan stops after the first part that runs out. Past the budget the
    /// scan stops confirming and decoding, keeps what it found and counts the input in
    /// [`ScanStats::timed_out`]. The clock is read after each [`BUDGET_CHECK_BYTES`] of regex
    /// and decoding work, never in between: an input is cut after that much work at the
    /// earliest (whatever the budget, even zero), and past its deadline by at most that much
    /// more (and the one window or decoded run under way). `None`: no limit.
    pub time_budget: Option<Duration>,
}

/// The input size one [`EngineOptions::time_budget`] covers: an input held whole (up to
/// keyhound's largest, 64 MiB) gets one budget, a larger one a budget per started unit.
pub const BUDGET_UNIT: usize = 64 << 20;
/// Regex windows and decoded text (in bytes; each window or decoded run counts
/// [`BUDGET_STEP_COST`] more) scanned between two readings of the clock.
pub const BUDGET_CHECK_BYTES: usize = 256 << 10;
/// What one regex run or decoded run counts towards [`BUDGET_CHECK_BYTES`] besides its bytes:
/// many tiny windows cost their per-run set-up, not their length.
const BUDGET_STEP_COST: usize = 256;

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            decode: true,
            base64_min_len: 32,
            hex_min_len: 32,
            max_segment_len: 4096,
            max_decoded_runs: 1 << 16,
            time_budget: None,
        }
    }
}

struct Compiled {
    regex: meta::Regex,
    secret_group: Option<usize>,
    max_len: Option<usize>,
    /// No match can hold a newline: windows stop at the keyword's line.
    single_line: bool,
    /// The rule's `not_after`, anchored to end where the secret starts.
    not_after: Option<meta::Regex>,
    /// Bytes every match holds: windows without them are not searched.
    required: required::Required,
}

struct CompiledRule {
    loaded: LoadedRule,
    stopwords: Vec<Vec<u8>>,
    compiled: OnceLock<Result<Compiled, String>>,
}

impl CompiledRule {
    fn compiled(&self) -> &Result<Compiled, String> {
        self.compiled.get_or_init(|| {
            compile(
                &self.loaded.rule.pattern,
                self.loaded.rule.not_after.as_deref(),
                &self.loaded.rule.keywords,
            )
        })
    }
}

/// Lazy-DFA cache per regex and thread. The default (2 MiB) is too small for the wide bounded
/// patterns of multi-line rules: the cache kept filling and the DFA was rebuilt over and over
/// (a fifth of a history scan's time went to determinization).
const HYBRID_CACHE_BYTES: usize = 16 << 20;
/// The most the search caches of all rules hold together, per [`Scratch`] (per thread): past
/// it, the caches of every rule but the one just searched are dropped (and rebuilt when next
/// needed). One rule's caches stay within a few times [`HYBRID_CACHE_BYTES`].
const CACHE_BUDGET: usize = 64 << 20;
/// Tells engines apart, so that a [`Scratch`] never uses one engine's caches with another's
/// regexes.
static ENGINE_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn compile(
    pattern: &str,
    not_after: Option<&str>,
    keywords: &[String],
) -> Result<Compiled, String> {
    let config = keyhound_rules::pattern::syntax_config();
    let hir = syntax::parse_with(pattern, &config).map_err(|e| e.to_string())?;
    let max_len = hir.properties().maximum_len().filter(|&n| n <= MAX_WINDOW);
    let single_line = !can_match_newline(&hir);
    let required = required::Required::of(&hir, keywords);
    let build = |hir: &regex_syntax::hir::Hir| {
        meta::Regex::builder()
            .configure(
                meta::Config::new()
                    .utf8_empty(false)
                    .nfa_size_limit(Some(keyhound_rules::pattern::NFA_SIZE_LIMIT))
                    .dfa_size_limit(Some(keyhound_rules::pattern::DFA_SIZE_LIMIT))
                    .hybrid_cache_capacity(HYBRID_CACHE_BYTES),
            )
            .build_from_hir(hir)
            .map_err(|e| e.to_string())
    };
    let regex = build(&hir)?;
    let secret_group = regex
        .group_info()
        .to_index(regex_automata::PatternID::ZERO, "secret");
    let not_after = not_after
        .map(|context| {
            let anchored = keyhound_rules::pattern::not_after_pattern(context);
            let hir =
                syntax::parse_with(&anchored, &config).map_err(|e| format!("not_after: {e}"))?;
            build(&hir).map_err(|e| format!("not_after: {e}"))
        })
        .transpose()?;
    Ok(Compiled {
        regex,
        secret_group,
        max_len,
        single_line,
        not_after,
        required,
    })
}

/// How far back on the secret's line `not_after` looks.
const NOT_AFTER_REACH: usize = 256;

/// The text of `haystack` from the start of the line holding `at` (at most
/// [`NOT_AFTER_REACH`] bytes back) up to `at`.
fn line_before(haystack: &[u8], at: usize) -> &[u8] {
    let from = at.saturating_sub(NOT_AFTER_REACH);
    let start = memchr::memrchr(b'\n', &haystack[from..at]).map_or(from, |p| from + p + 1);
    &haystack[start..at]
}

/// One confirmed secret in an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in [`Engine::rules`].
    pub rule: usize,
    /// Byte range of the secret in the input (of the encoded run when `decoded`).
    pub span: Range<usize>,
    /// Start and end positions of `span`.
    pub location: Span,
    /// The secret value (decoded when `decoded`).
    pub secret: Vec<u8>,
    /// How the text the secret was found in was decoded, if it was. `span` holds the encoded
    /// bytes of the secret (of the whole run for base64).
    pub decoded: Option<Decoding>,
}

/// Counters of the work one scan did; they show which stage a cost comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Input bytes scanned, each counted once (not stream overlaps, not decoded text).
    pub bytes: u64,
    /// Keyword occurrences found by the prefilter.
    pub keyword_hits: u64,
    /// Regex searches run (one per merged window).
    pub regex_runs: u64,
    /// Bytes of the windows those searches ran over.
    pub regex_bytes: u64,
    /// Regex matches rejected by validators, entropy or placeholder filters.
    pub rejected: u64,
    /// Encoded runs and spans decoded and rescanned.
    pub decoded_runs: u64,
    /// Encoded runs and spans not decoded: the input reached [`EngineOptions::max_decoded_runs`].
    pub decode_capped: u64,
    /// Inputs (and parts of streamed inputs) whose scan stopped at
    /// [`EngineOptions::time_budget`]: their findings so far are kept, the rest was not looked at.
    pub timed_out: u64,
}

impl ScanStats {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &ScanStats) {
        self.bytes += other.bytes;
        self.keyword_hits += other.keyword_hits;
        self.regex_runs += other.regex_runs;
        self.regex_bytes += other.regex_bytes;
        self.rejected += other.rejected;
        self.decoded_runs += other.decoded_runs;
        self.decode_capped += other.decode_capped;
        self.timed_out += other.timed_out;
    }
}

/// Per-thread buffers reused across scans, and the regexes' search caches (lazy DFAs). Keep
/// one per thread and pass it to every scan: a new one starts with empty caches, and rebuilding
/// them costs more than scanning a small input (3,000 inputs of 2 KB dense in keywords took
/// five times as long with a new scratch each).
#[derive(Default)]
pub struct Scratch {
    /// The engine the caches belong to ([`Engine`]'s id; 0: none yet).
    engine: u64,
    /// Per rule, its regexes' caches, created on the rule's first window (boxed: a cache is
    /// kilobytes even when empty, and most rules never need one).
    caches: Vec<Option<Box<RuleCache>>>,
    /// What the caches in `caches` held when last measured, in all.
    cache_bytes: usize,
    /// Searches made with these caches so far (the clock of [`RuleCache::last_used`]).
    searches: u64,
    keyword_hits: Vec<prefilter::Hit>,
    hits: Vec<(u32, usize, usize)>,
    pending: Vec<Option<Range<usize>>>,
    decoded: Vec<u8>,
    decode_map: Vec<usize>,
    nested: Vec<RawMatch>,
    budget: Budget,
}

/// The search caches of one rule's regexes, their size when last measured, and when they were
/// last searched with (the [`Scratch`]'s count of searches then).
struct RuleCache {
    regex: meta::Cache,
    not_after: Option<meta::Cache>,
    bytes: usize,
    last_used: u64,
}

impl RuleCache {
    fn new(compiled: &Compiled) -> Self {
        Self {
            regex: compiled.regex.create_cache(),
            not_after: compiled.not_after.as_ref().map(meta::Regex::create_cache),
            bytes: 0,
            last_used: 0,
        }
    }

    fn memory_usage(&self) -> usize {
        self.regex.memory_usage() + self.not_after.as_ref().map_or(0, meta::Cache::memory_usage)
    }
}

impl Scratch {
    /// Makes the caches those of `engine`'s rules: a scratch used with another engine before
    /// drops its caches.
    fn bind(&mut self, engine: &Engine) {
        if self.engine != engine.id {
            self.caches.clear();
            self.cache_bytes = 0;
            self.engine = engine.id;
        }
        self.caches.resize_with(engine.rules.len(), || None);
    }

    /// The caches of rule `rule`, created if it has none.
    fn cache(&mut self, rule: usize, compiled: &Compiled) -> &mut RuleCache {
        self.caches[rule].get_or_insert_with(|| Box::new(RuleCache::new(compiled)))
    }

    /// Measures rule `rule`'s caches after a search; when all caches together hold more than
    /// `budget` ([`CACHE_BUDGET`]), drops the least recently searched of the others until the
    /// rest hold at most half of it. Dropping every other rule's caches instead rebuilt the hot
    /// ones over and over: replaying the engine fuzz target's corpus (5,076 keyword-dense
    /// inputs, `profile corpus DIR`) took 5.4-6.0 s of CPU and 180-185 MB that way, 4.5-5.4 s
    /// and 188-199 MB this way, 3.7 s and 365 MB with no budget at all (2-core machine with
    /// fuzzers at `nice 19`).
    fn account(&mut self, rule: usize, budget: usize) {
        self.searches += 1;
        let Some(cache) = self.caches[rule].as_mut() else {
            return;
        };
        let now = cache.memory_usage();
        self.cache_bytes = self.cache_bytes - cache.bytes + now;
        cache.bytes = now;
        cache.last_used = self.searches;
        if self.cache_bytes <= budget {
            return;
        }
        let mut others: Vec<(u64, usize)> = self
            .caches
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != rule)
            .filter_map(|(i, cache)| Some((cache.as_ref()?.last_used, i)))
            .collect();
        others.sort_unstable();
        for (_, i) in others {
            if self.cache_bytes <= budget / 2 {
                break;
            }
            if let Some(dropped) = self.caches[i].take() {
                self.cache_bytes -= dropped.bytes;
            }
        }
    }
}

/// The time budget of the input being scanned (see [`EngineOptions::time_budget`]).
#[derive(Default)]
struct Budget {
    /// When the input's time is up; `None`: no limit.
    deadline: Option<Instant>,
    /// Work (bytes, and [`BUDGET_STEP_COST`] a step) left before the clock is read again.
    until_check: usize,
    /// The deadline has passed: nothing more is confirmed or decoded.
    spent: bool,
}

impl Budget {
    /// Starts the budget of an input of `len` bytes.
    fn start(&mut self, budget: Option<Duration>, len: usize) {
        let units = u32::try_from(len.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX);
        // A deadline beyond what `Instant` can hold is no deadline.
        self.deadline = budget.and_then(|b| Instant::now().checked_add(b.saturating_mul(units)));
        self.until_check = BUDGET_CHECK_BYTES;
        self.spent = false;
    }

    /// Counts a step of `bytes` of work; whether the time is up (then the step is not taken).
    fn spend(&mut self, bytes: usize) -> bool {
        let Some(deadline) = self.deadline else {
            return false;
        };
        if self.spent {
            return true;
        }
        let cost = bytes.saturating_add(BUDGET_STEP_COST);
        if cost <= self.until_check {
            self.until_check -= cost;
            return false;
        }
        self.until_check = BUDGET_CHECK_BYTES;
        self.spent = Instant::now() >= deadline;
        self.spent
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RawMatch {
    rule: u32,
    /// Where the whole regex match (or the decoded run) starts; streaming defers on it.
    anchor: usize,
    span: Range<usize>,
    secret: Range<usize>,
    /// The secret as decoded, when it differs from the input's bytes at `secret`.
    decoded_secret: Option<Vec<u8>>,
    decoding: Option<Decoding>,
}

impl RawMatch {
    /// Moves the match `by` bytes later (from a part's offsets to its buffer's).
    fn shift(&mut self, by: usize) {
        self.anchor += by;
        self.span = self.span.start + by..self.span.end + by;
        self.secret = self.secret.start + by..self.secret.end + by;
    }
}

/// A compiled rule set.
pub struct Engine {
    /// Unique among the engines of this process (see [`Scratch::bind`]).
    id: u64,
    rules: Vec<CompiledRule>,
    prefilter: Option<prefilter::Prefilter>,
    keyword_lens: Vec<usize>,
    /// The length of the longest keyword (0 when there is none).
    longest_keyword: usize,
    keyword_rules: Vec<Vec<u32>>,
    unkeyed: Vec<u32>,
    options: EngineOptions,
}

impl Engine {
    /// Builds the prefilter over all keywords; patterns compile lazily on first use.
    pub fn new(rules: &RuleSet, options: EngineOptions) -> Result<Self, EngineError> {
        let mut keywords: Vec<&str> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        let mut unkeyed = Vec::new();
        let mut index = std::collections::HashMap::new();
        for (i, loaded) in rules.rules().iter().enumerate() {
            let rule_index = i as u32;
            if loaded.rule.keywords.is_empty() {
                unkeyed.push(rule_index);
            }
            for keyword in &loaded.rule.keywords {
                let slot = *index.entry(keyword.as_str()).or_insert_with(|| {
                    keywords.push(keyword.as_str());
                    keyword_rules.push(Vec::new());
                    keywords.len() - 1
                });
                if !keyword_rules[slot].contains(&rule_index) {
                    keyword_rules[slot].push(rule_index);
                }
            }
        }
        let prefilter = if keywords.is_empty() {
            None
        } else {
            Some(prefilter::Prefilter::new(
                &keywords,
                prefilter::PrefilterKind::Auto,
            )?)
        };
        let rules = rules
            .rules()
            .iter()
            .map(|loaded| CompiledRule {
                stopwords: loaded
                    .rule
                    .stopwords
                    .iter()
                    .map(|w| w.to_ascii_lowercase().into_bytes())
                    .collect(),
                loaded: loaded.clone(),
                compiled: OnceLock::new(),
            })
            .collect();
        Ok(Self {
            id: ENGINE_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            rules,
            keyword_lens: keywords.iter().map(|k| k.len()).collect(),
            longest_keyword: keywords.iter().map(|k| k.len()).max().unwrap_or(0),
            prefilter,
            keyword_rules,
            unkeyed,
            options,
        })
    }

    /// The number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The rule at `index` (as in [`Match::rule`]).
    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index].loaded.rule
    }

    /// The rule at `index` with the file it came from.
    pub fn loaded_rule(&self, index: usize) -> &LoadedRule {
        &self.rules[index].loaded
    }

    /// How many rules have compiled their pattern so far (patterns compile on first hit).
    pub fn compiled_rules(&self) -> usize {
        self.rules
            .iter()
            .filter(|r| r.compiled.get().is_some())
            .count()
    }

    /// How many rules have no keyword and so run on every input.
    pub fn unkeyed_rules(&self) -> usize {
        self.unkeyed.len()
    }

    /// Compiles every pattern now (for `rules check`); returns the ones that fail.
    pub fn compile_all(&self) -> Vec<EngineError> {
        self.rules
            .iter()
            .filter_map(|r| match r.compiled() {
                Ok(_) => None,
                Err(message) => Some(EngineError::Pattern {
                    origin: r.loaded.origin.clone(),
                    rule_id: r.loaded.rule.id.clone(),
                    message: message.clone(),
                }),
            })
            .collect()
    }

    /// Finds every secret in `haystack`, sorted by position, located by line and column.
    pub fn scan(
        &self,
        haystack: &[u8],
        scratch: &mut Scratch,
        stats: &mut ScanStats,
    ) -> Vec<Match> {
        let mut raw = Vec::new();
        self.scan_raw(haystack, scratch, stats, 0, &mut raw);
        let mut locator = location::Locator::new(haystack);
        raw.into_iter()
            .map(|m| Match {
                rule: m.rule as usize,
                location: locator.span(m.span.clone()),
                span: m.span,
                decoded: m.decoding,
                secret: m
                    .decoded_secret
                    .unwrap_or_else(|| haystack[m.secret].to_vec()),
            })
            .collect()
    }

    fn scan_raw(
        &self,
        haystack: &[u8],
        scratch: &mut Scratch,
        stats: &mut ScanStats,
        depth: u8,
        out: &mut Vec<RawMatch>,
    ) {
        if depth == 0 {
            scratch.bind(self);
            stats.bytes += haystack.len() as u64;
            scratch
                .budget
                .start(self.options.time_budget, haystack.len());
        }
        let start_len = out.len();
        self.confirm_keyword_hits(haystack, scratch, stats, out);
        // Confirmed slab by slab, the matches are put back in the order of one pass per rule
        // (each rule's in input order), the order overlaps are resolved in.
        out[start_len..].sort_by_key(|m| m.rule);
        if depth == 0 && self.options.decode && !scratch.budget.spent {
            self.scan_decoded(haystack, scratch, stats, out);
        }
        if depth == 0 && scratch.budget.spent {
            stats.timed_out += 1;
        }
        resolve_overlaps(&self.rules, &mut out[start_len..]);
        out.retain(|m| m.rule != u32::MAX);
        out[start_len..].sort_by_key(|m| (m.span.start, m.span.end, m.rule));
    }

    /// Runs the prefilter over `haystack` one [`HIT_SLAB`] at a time (by where keywords
    /// start) and confirms each rule's windows around its keywords' hits, overlapping windows
    /// merged, each window as soon as no later hit can extend it: memory stays bounded by a
    /// slab's hits however many keywords the input holds. Rules without keywords search the
    /// whole input. Stops when the time budget is spent.
    fn confirm_keyword_hits(
        &self,
        haystack: &[u8],
        scratch: &mut Scratch,
        stats: &mut ScanStats,
        out: &mut Vec<RawMatch>,
    ) {
        for &rule_index in &self.unkeyed {
            let rule = &self.rules[rule_index as usize];
            if let Ok(compiled) = rule.compiled()
                && !self.confirm_window(
                    rule_index,
                    compiled,
                    haystack,
                    0..haystack.len(),
                    scratch,
                    stats,
                    out,
                )
            {
                return;
            }
        }
        let Some(prefilter) = &self.prefilter else {
            return;
        };
        // Per rule, the window that later hits may still extend.
        let mut pending = std::mem::take(&mut scratch.pending);
        pending.clear();
        pending.resize(self.rules.len(), None);
        let mut slab_start = 0;
        let mut in_time = true;
        while in_time && slab_start < haystack.len() {
            let slab_end = slab_start.saturating_add(HIT_SLAB).min(haystack.len());
            // Keywords that start in the slab end at most the longest keyword past it.
            let reach = slab_end
                .saturating_add(self.longest_keyword - 1)
                .min(haystack.len());
            scratch.keyword_hits.clear();
            prefilter.find_all(&haystack[slab_start..reach], &mut scratch.keyword_hits);
            scratch.hits.clear();
            for &(keyword, end) in &scratch.keyword_hits {
                let start = slab_start + end - self.keyword_lens[keyword as usize];
                if start >= slab_end {
                    continue;
                }
                stats.keyword_hits += 1;
                for &rule in &self.keyword_rules[keyword as usize] {
                    scratch.hits.push((rule, start, slab_start + end));
                }
            }
            scratch.hits.sort_unstable();
            let mut i = 0;
            while in_time && i < scratch.hits.len() {
                let rule_index = scratch.hits[i].0;
                let mut j = i;
                while j < scratch.hits.len() && scratch.hits[j].0 == rule_index {
                    j += 1;
                }
                let rule = &self.rules[rule_index as usize];
                if let Ok(compiled) = rule.compiled() {
                    let open = &mut pending[rule_index as usize];
                    for k in i..j {
                        let (_, ks, ke) = scratch.hits[k];
                        let w = window(haystack, ks, ke, compiled.max_len, compiled.single_line);
                        match open {
                            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
                            _ => {
                                if let Some(done) = open.replace(w)
                                    && !self.confirm_window(
                                        rule_index, compiled, haystack, done, scratch, stats, out,
                                    )
                                {
                                    in_time = false;
                                    break;
                                }
                            }
                        }
                    }
                }
                i = j;
            }
            slab_start = slab_end;
        }
        for (rule_index, open) in pending.iter_mut().enumerate() {
            if let Some(done) = open.take()
                && in_time
                && let Ok(compiled) = self.rules[rule_index].compiled()
            {
                in_time = self.confirm_window(
                    rule_index as u32,
                    compiled,
                    haystack,
                    done,
                    scratch,
                    stats,
                    out,
                );
            }
        }
        scratch.pending = pending;
    }

    /// Confirms one window, if the time budget allows; whether it did.
    #[allow(clippy::too_many_arguments)]
    fn confirm_window(
        &self,
        rule_index: u32,
        compiled: &Compiled,
        haystack: &[u8],
        window: Range<usize>,
        scratch: &mut Scratch,
        stats: &mut ScanStats,
        out: &mut Vec<RawMatch>,
    ) -> bool {
        if scratch.budget.spend(window.len()) {
            return false;
        }
        if !compiled.required.admits(&haystack[window.clone()]) {
            return true;
        }
        stats.regex_runs += 1;
        stats.regex_bytes += window.len() as u64;
        let rule = &self.rules[rule_index as usize];
        let cache = scratch.cache(rule_index as usize, compiled);
        self.confirm(
            rule_index, rule, compiled, cache, haystack, window, stats, out,
        );
        scratch.account(rule_index as usize, CACHE_BUDGET);
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn confirm(
        &self,
        rule_index: u32,
        rule: &CompiledRule,
        compiled: &Compiled,
        cache: &mut RuleCache,
        haystack: &[u8],
        window: Range<usize>,
        stats: &mut ScanStats,
        out: &mut Vec<RawMatch>,
    ) {
        let input = regex_automata::Input::new(haystack).range(window);
        let mut searcher = regex_automata::util::iter::Searcher::new(input);
        let mut caps = compiled.regex.create_captures();
        // As `meta::Regex::captures_iter`, with this thread's cache.
        while let Some(whole) = searcher.advance(|input| {
            compiled
                .regex
                .search_captures_with(&mut cache.regex, input, &mut caps);
            Ok(caps.get_match())
        }) {
            let secret = compiled
                .secret_group
                .and_then(|g| caps.get_group(g))
                .map_or(whole.range(), |s| s.range());
            if secret.is_empty()
                || !self.accepts(rule, &haystack[secret.clone()])
                || compiled.not_after.as_ref().is_some_and(|context| {
                    let line = regex_automata::Input::new(line_before(haystack, secret.start));
                    let cache = cache
                        .not_after
                        .get_or_insert_with(|| context.create_cache());
                    context.is_match_with(cache, &line)
                })
            {
                stats.rejected += 1;
                continue;
            }
            out.push(RawMatch {
                rule: rule_index,
                anchor: whole.start(),
                span: secret.clone(),
                secret,
                decoded_secret: None,
                decoding: None,
            });
        }
    }

    fn accepts(&self, rule: &CompiledRule, secret: &[u8]) -> bool {
        let spec = &rule.loaded.rule;
        if spec.filter_placeholders && validate::is_placeholder(secret) {
            return false;
        }
        if rule
            .stopwords
            .iter()
            .any(|w| validate::contains_ignore_ascii_case(secret, w))
        {
            return false;
        }
        if let Some(min) = spec.min_entropy
            && validate::shannon_entropy(secret) < min
        {
            return false;
        }
        spec.validate.iter().all(|&v| validate::passes(v, secret))
    }

    /// Decodes the encoded runs and spans of `haystack` and scans each once more.
    fn scan_decoded(
        &self,
        haystack: &[u8],
        scratch: &mut Scratch,
        stats: &mut ScanStats,
        out: &mut Vec<RawMatch>,
    ) {
        let mut decoded = std::mem::take(&mut scratch.decoded);
        let mut map = std::mem::take(&mut scratch.decode_map);
        let mut rescan = Rescan {
            haystack,
            budget: self.options.max_decoded_runs,
            nested: std::mem::take(&mut scratch.nested),
            scratch,
            stats,
            out,
        };
        let options = &self.options;
        let runs = base64_runs::encoded_runs(haystack, options.base64_min_len, options.hex_min_len);
        for (how, run) in runs {
            if rescan.scratch.budget.spent {
                break;
            }
            let origin = match how {
                Decoding::Hex => {
                    decoders::hex_decode(haystack, run, &mut decoded).map(decoders::Origin::Hex)
                }
                _ => base64_runs::decode_text(&haystack[run.clone()], &mut decoded)
                    .then_some(decoders::Origin::Whole(run)),
            };
            if let Some(origin) = origin {
                rescan.run(self, how, &decoded, origin);
            }
        }
        type Segments = fn(&[u8], usize, &mut dyn FnMut(Range<usize>));
        type Escape = fn(&[u8], usize, usize, &mut Vec<u8>) -> Option<usize>;
        let segment_decoders: [(Decoding, Segments, Escape); 2] = [
            (
                Decoding::Percent,
                decoders::percent_segments,
                decoders::percent_escape,
            ),
            (
                Decoding::Escape,
                decoders::escape_segments,
                decoders::string_escape,
            ),
        ];
        for (how, segments, escape) in segment_decoders {
            segments(haystack, options.max_segment_len, &mut |segment| {
                if rescan.scratch.budget.spent {
                    return;
                }
                decoders::decode_segment(haystack, segment, &mut decoded, &mut map, escape);
                let origin = decoders::Origin::Map(std::mem::take(&mut map));
                map = rescan.run(self, how, &decoded, origin);
            });
        }
        let nested = std::mem::take(&mut rescan.nested);
        scratch.decoded = decoded;
        scratch.decode_map = map;
        scratch.nested = nested;
    }

    /// Scans a stream in overlapping chunks so memory stays bounded whatever the input size.
    /// `on_match` receives each match (absolute offsets and positions) with the chunk it was
    /// found in and the chunk's absolute offset, for cutting snippets.
    pub fn scan_stream(
        &self,
        reader: &mut dyn std::io::Read,
        scratch: &mut Scratch,
        stats: &mut ScanStats,
        on_match: &mut dyn FnMut(Match, &[u8], usize),
    ) -> std::io::Result<()> {
        stream::scan(self, reader, scratch, stats, on_match, stream::Cuts::new(1))
    }

    /// [`Engine::scan_stream`] with up to `threads` threads on one input: each buffer of
    /// `threads` chunks of [`STREAM_CHUNK`] bytes is cut into parts scanned at once, each with
    /// [`STREAM_OVERLAP`] bytes of context either side, so one large file uses every core.
    /// Matches arrive in the same order and with the same positions as from `scan_stream`;
    /// `on_match` runs on the calling thread.
    pub fn scan_stream_parallel(
        &self,
        reader: &mut dyn std::io::Read,
        threads: usize,
        scratch: &mut Scratch,
        stats: &mut ScanStats,
        on_match: &mut dyn FnMut(Match, &[u8], usize),
    ) -> std::io::Result<()> {
        stream::scan(
            self,
            reader,
            scratch,
            stats,
            on_match,
            stream::Cuts::new(threads),
        )
    }
}

/// The state of one input's decode-and-rescan stage.
struct Rescan<'a> {
    haystack: &'a [u8],
    /// Runs still allowed to be decoded.
    budget: usize,
    nested: Vec<RawMatch>,
    scratch: &'a mut Scratch,
    stats: &'a mut ScanStats,
    out: &'a mut Vec<RawMatch>,
}

impl Rescan<'_> {
    /// Scans `decoded` (decoded by `how` from the input bytes `origin` tells) and adds its
    /// matches, located at their encoded bytes. Gives back the offset map of `origin`, if any,
    /// for reuse.
    fn run(
        &mut self,
        engine: &Engine,
        how: Decoding,
        decoded: &[u8],
        origin: decoders::Origin,
    ) -> Vec<usize> {
        if self.scratch.budget.spend(decoded.len()) {
            // Out of time: the input is counted in `timed_out` once its scan returns.
        } else if self.budget == 0 {
            self.stats.decode_capped += 1;
        } else {
            self.budget -= 1;
            self.stats.decoded_runs += 1;
            self.nested.clear();
            engine.scan_raw(decoded, self.scratch, self.stats, 1, &mut self.nested);
            let anchor = origin.start();
            for m in self.nested.drain(..) {
                let span = origin.original(m.secret.clone());
                let secret = &decoded[m.secret];
                // A secret that stands in the input as written (only its context was encoded)
                // is the same finding as the plain scan's, if that found it.
                let decoded_secret =
                    (self.haystack[span.clone()] != *secret).then(|| secret.to_vec());
                self.out.push(RawMatch {
                    rule: m.rule,
                    anchor,
                    span: span.clone(),
                    secret: span,
                    decoded_secret,
                    decoding: Some(how),
                });
            }
        }
        match origin {
            decoders::Origin::Map(map) => map,
            _ => Vec::new(),
        }
    }
}

/// The window in which a match containing the keyword at `ks..ke` must lie: within the
/// pattern's maximum length of it, and on its line when no match can hold a newline.
fn window(
    haystack: &[u8],
    ks: usize,
    ke: usize,
    max_len: Option<usize>,
    single_line: bool,
) -> Range<usize> {
    let (lo, hi) = match max_len {
        Some(len) => (
            ke.saturating_sub(len),
            ks.saturating_add(len).min(haystack.len()),
        ),
        None => (
            ks.saturating_sub(UNBOUNDED_REACH),
            ke.saturating_add(UNBOUNDED_REACH).min(haystack.len()),
        ),
    };
    if max_len.is_some() && !single_line {
        return lo..hi;
    }
    let (before, after) = (lo.min(ks), hi.max(ke));
    let start =
        memchr::memrchr(b'\n', &haystack[before..ks]).map_or(lo, |p| lo.max(before + p + 1));
    let end = memchr::memchr(b'\n', &haystack[ke..after]).map_or(hi, |p| hi.min(ke + p));
    start..end
}

/// Whether some string that `hir` matches holds a newline.
fn can_match_newline(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Literal(literal) => literal.0.contains(&b'\n'),
        HirKind::Class(Class::Bytes(class)) => class
            .ranges()
            .iter()
            .any(|r| (r.start()..=r.end()).contains(&b'\n')),
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .any(|r| (r.start()..=r.end()).contains(&'\n')),
        HirKind::Repetition(repetition) => {
            repetition.max != Some(0) && can_match_newline(&repetition.sub)
        }
        HirKind::Capture(capture) => can_match_newline(&capture.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => parts.iter().any(can_match_newline),
    }
}

/// Drops low-confidence matches whose secret overlaps a more confident match, matches whose
/// secret lies inside another rule's secret (the same span: a more confident rule's; a larger
/// one: an at least as confident rule's), exact duplicates of one rule (a decoded run that
/// repeats a plain finding), and one rule's finds in decoded text that overlap its plain finds
/// in the same input bytes, and a match of encoded text that holds a decoded match of the same
/// provider. Dropped entries are marked with `rule = u32::MAX`.
fn resolve_overlaps(rules: &[CompiledRule], matches: &mut [RawMatch]) {
    let confidence = |m: &RawMatch| rules[m.rule as usize].loaded.rule.confidence;
    let provider = |m: &RawMatch| rules[m.rule as usize].loaded.rule.provider.as_str();
    let n = matches.len();
    if n < 2 {
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| matches[i].span.start);
    for a in 0..n {
        let ia = order[a];
        for &ib in &order[a + 1..] {
            if matches[ib].span.start >= matches[ia].span.end {
                break;
            }
            if matches[ia].rule == u32::MAX || matches[ib].rule == u32::MAX {
                continue;
            }
            let (ca, cb) = (confidence(&matches[ia]), confidence(&matches[ib]));
            let same = matches[ia].rule == matches[ib].rule
                && matches[ia].span == matches[ib].span
                && matches[ia].decoded_secret == matches[ib].decoded_secret;
            let (sa, sb) = (&matches[ia].span, &matches[ib].span);
            let a_holds_b = sa.start <= sb.start && sb.end <= sa.end;
            let b_holds_a = sb.start <= sa.start && sa.end <= sb.end;
            // The holder of a secret outranks what lies within it when it is more confident, or
            // as confident and larger (two rules claiming the very same secret at the same
            // confidence both stand).
            let outranks = |cx: Confidence, cy: Confidence| cx > cy || (cx == cy && sa != sb);
            // One rule's find in the input as written outranks its find in the same bytes
            // decoded (a webhook URL whose query holds `%3D`). So does a provider's rule for an
            // encoded form (a base64-encoded key file) over what the same provider's rules find
            // in it decoded: one finding, with the same fingerprint whether decoding is on.
            let plain_and_decoded = matches[ia].decoding.is_some()
                != matches[ib].decoding.is_some()
                && (matches[ia].rule == matches[ib].rule
                    || ((a_holds_b || b_holds_a)
                        && provider(&matches[ia]) == provider(&matches[ib])));
            if same {
                matches[ib].rule = u32::MAX;
            } else if plain_and_decoded {
                let decoded = if matches[ia].decoding.is_some() {
                    ia
                } else {
                    ib
                };
                matches[decoded].rule = u32::MAX;
            } else if ca == Confidence::Low && cb > Confidence::Low {
                matches[ia].rule = u32::MAX;
            } else if cb == Confidence::Low && ca > Confidence::Low {
                matches[ib].rule = u32::MAX;
            } else if a_holds_b && outranks(ca, cb) {
                // A connection string and the account key inside it: one finding, the whole one.
                matches[ib].rule = u32::MAX;
            } else if b_holds_a && outranks(cb, ca) {
                matches[ia].rule = u32::MAX;
            }
        }
    }
}

/// The outcome of running one rule's examples through the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule.
    pub rule_id: String,
    /// Where the rule was defined.
    pub origin: String,
    /// What went wrong.
    pub message: String,
}

impl Engine {
    /// Runs every rule's examples and negative examples through this engine: each example must
    /// yield a match of its rule, no negative example may.
    pub fn check_examples(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        let mut scratch = Scratch::default();
        for (index, rule) in self.rules.iter().enumerate() {
            let spec = &rule.loaded.rule;
            let fail = |message: String| ExampleFailure {
                rule_id: spec.id.clone(),
                origin: rule.loaded.origin.clone(),
                message,
            };
            if let Err(message) = rule.compiled() {
                failures.push(fail(format!("pattern does not compile: {message}")));
                continue;
            }
            let mut stats = ScanStats::default();
            for example in &spec.examples {
                let found = self.scan(example.as_bytes(), &mut scratch, &mut stats);
                if !found.iter().any(|m| m.rule == index) {
                    failures.push(fail(format!("example does not match: {example:?}")));
                }
                if !spec.keywords.is_empty()
                    && !spec.keywords.iter().any(|k| example.contains(k.as_str()))
                {
                    failures.push(fail(format!(
                        "example contains none of the keywords: {example:?}"
                    )));
                }
            }
            for example in &spec.negative_examples {
                let found = self.scan(example.as_bytes(), &mut scratch, &mut stats);
                if found.iter().any(|m| m.rule == index) {
                    failures.push(fail(format!("negative example matches: {example:?}")));
                }
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newline_possible(pattern: &str) -> bool {
        let config = syntax::Config::new().unicode(false).utf8(false);
        can_match_newline(&syntax::parse_with(pattern, &config).expect("pattern parses"))
    }

    #[test]
    fn patterns_that_cannot_span_lines_are_told_apart() {
        for single in [
            r"\b(?P<secret>ghp_[A-Za-z0-9]{36})\b",
            r"(?i)token[\w.-]{0,30}[ \t]*=[ \t]*(?P<secret>[^\s'\x22]{16,})\r?(?m:$)",
            r"x\n{0}y",
        ] {
            assert!(!newline_possible(single), "{single}");
        }
        for multi in [
            r"BEGIN(?:\s|\\n){1,4}(?P<secret>[A-Za-z0-9+/=\s]{64,})END",
            r"a[^x]b",
            r"a\nb",
            r"(?s)a.b",
        ] {
            assert!(newline_possible(multi), "{multi}");
        }
    }

    /// An engine of one rule `NAME.key`: keyword `NAME_`, then a 24-character secret.
    fn one_rule_engine(name: &str) -> Engine {
        let toml = crate::fake::fake_rule_toml(&format!("{name}.key"), &format!("{name}_"));
        let mut rules = RuleSet::new();
        rules.add_toml("t.toml", &toml).expect("rule loads");
        Engine::new(&rules, EngineOptions::default()).expect("engine")
    }

    fn fake_secret(seed: u64) -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        crate::fake::fake_string(seed, alphabet, 24)
    }

    fn secrets(found: &[Match]) -> Vec<&[u8]> {
        found.iter().map(|m| m.secret.as_slice()).collect()
    }

    /// An input made of keywords: hits are taken a slab at a time (the buffers never hold more
    /// than a slab's), and a secret after them all is still found, once.
    #[test]
    fn hits_are_held_a_slab_at_a_time_and_a_secret_after_them_is_found() {
        let engine = one_rule_engine("acme");
        // Two slabs' worth; one slab holds a fifth of HIT_SLAB hits.
        let repeats = 2 * HIT_SLAB / "acme_".len();
        let secret = fake_secret(7);
        let text = format!("{}\nkey = acme_{secret}\n", "acme_".repeat(repeats));
        let mut scratch = Scratch::default();
        let mut stats = ScanStats::default();
        let found = engine.scan(text.as_bytes(), &mut scratch, &mut stats);
        assert_eq!(secrets(&found), [secret.as_bytes()]);
        assert_eq!(stats.keyword_hits, repeats as u64 + 1);
        let held = [scratch.keyword_hits.capacity(), scratch.hits.capacity()];
        assert!(held.iter().all(|&n| n <= HIT_SLAB / 4), "{held:?}");
    }

    /// One scratch used with two engines in turn: each scan uses its own engine's regex
    /// caches (the rule at index 0 differs), and finds its own rule's secret only.
    #[test]
    fn a_scratch_moved_between_engines_drops_the_caches_of_the_other() {
        let (acme, zeta) = (one_rule_engine("acme"), one_rule_engine("zeta"));
        let (a, z) = (fake_secret(1), fake_secret(2));
        let text = format!("acme_{a}\nzeta_{z}\n");
        let mut scratch = Scratch::default();
        let mut stats = ScanStats::default();
        for _ in 0..3 {
            let found = acme.scan(text.as_bytes(), &mut scratch, &mut stats);
            assert_eq!(secrets(&found), [a.as_bytes()]);
            assert_eq!(scratch.engine, acme.id);
            let found = zeta.scan(text.as_bytes(), &mut scratch, &mut stats);
            assert_eq!(secrets(&found), [z.as_bytes()]);
            assert_eq!(scratch.engine, zeta.id);
        }
    }

    /// Past the cache budget, the least recently searched rules' caches are dropped until the
    /// rest hold half of it (with a budget of 1 byte: all but the searched one's), and the total
    /// is kept; later scans rebuild what they need.
    #[test]
    fn regex_caches_past_the_budget_are_dropped_least_recently_searched_first() {
        let builtin = RuleSet::builtin().expect("built-in rules");
        let engine = Engine::new(&builtin, EngineOptions::default()).expect("engine");
        let examples: Vec<&str> = builtin
            .rules()
            .iter()
            .flat_map(|r| r.rule.examples.iter().map(String::as_str))
            .take(40)
            .collect();
        let text = examples.join("\n");
        let mut scratch = Scratch::default();
        let mut stats = ScanStats::default();
        let first = engine.scan(text.as_bytes(), &mut scratch, &mut stats);
        let cached = |scratch: &Scratch| -> Vec<usize> {
            (0..engine.rules.len())
                .filter(|&r| scratch.caches[r].is_some())
                .collect()
        };
        let bytes = |scratch: &Scratch, r: usize| scratch.caches[r].as_ref().map_or(0, |c| c.bytes);
        let before = cached(&scratch);
        assert!(before.len() > 10, "{before:?}");
        let sum: usize = before.iter().map(|&r| bytes(&scratch, r)).sum();
        assert_eq!(scratch.cache_bytes, sum);

        let kept = before[0];
        // Searched again (accounted without a budget to keep to): the newest, though searched
        // first in the text.
        let refreshed = before[1];
        scratch.account(refreshed, usize::MAX);
        let mut by_age: Vec<usize> = before.iter().copied().filter(|&r| r != kept).collect();
        by_age.sort_by_key(|&r| scratch.caches[r].as_ref().map_or(0, |c| c.last_used));
        // Just over budget: the oldest go first, until the rest hold at most half of it.
        let budget = scratch.cache_bytes - 1;
        let mut held: usize = by_age.iter().map(|&r| bytes(&scratch, r)).sum();
        held += bytes(&scratch, kept);
        let mut expected: Vec<usize> = vec![kept];
        let mut oldest = by_age.iter();
        for &r in oldest.by_ref() {
            if held <= budget / 2 {
                expected.push(r);
                break;
            }
            held -= bytes(&scratch, r);
        }
        expected.extend(oldest);
        expected.sort_unstable();
        assert!(expected.len() < before.len(), "some caches are dropped");
        assert!(expected.contains(&refreshed), "{expected:?}");
        scratch.account(kept, budget);
        assert_eq!(cached(&scratch), expected);
        assert_eq!(scratch.cache_bytes, held);

        scratch.account(kept, 1);
        assert_eq!(cached(&scratch), [kept]);
        assert_eq!(scratch.cache_bytes, bytes(&scratch, kept));
        let again = engine.scan(text.as_bytes(), &mut scratch, &mut stats);
        assert_eq!(again, first);
    }

    #[test]
    fn single_line_windows_stop_at_the_keywords_line() {
        let text = b"first line token\nsecond key=token value here\nthird";
        let ks = 28;
        assert_eq!(&text[ks..ks + 5], b"token");
        let line = 17..44;
        assert_eq!(window(text, ks, ks + 5, Some(100), true), line);
        assert_eq!(window(text, ks, ks + 5, Some(100), false), 0..text.len());
        assert_eq!(window(text, ks, ks + 5, Some(8), true), 25..36);
        assert_eq!(window(text, ks, ks + 5, None, false), line);
    }
}
