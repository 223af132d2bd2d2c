//! Whether a run's spare threads pay, measured while it trains.
//!
//! A run given spare threads splits its large jobs in two fixed halves, which run side by side
//! or in turn with the same bits either way ([`descent_core::turns`]). Side by side is faster
//! on an idle machine (one MNIST network at batch 512: 1.35× with two threads) and slower on
//! a busy one: with another process on the second core, the same run trained at 57–70k
//! samples/s with two threads against 84–118k with one, because a half handed to a
//! descheduled thread waits for it. The pacer times blocks of steps in the mode it uses,
//! tries the other mode now and then (less often each time the other mode loses), and keeps
//! the one whose recent blocks are clearly faster.

use std::time::{Duration, Instant};

use descent_core::Par;
use descent_core::turns::take_turns;

/// Steps are timed in blocks of at least this much training time.
const BLOCK: Duration = Duration::from_millis(10);

/// A mode replaces the other only when it takes less than this share of the other's time
/// per sample, so that the noise of single blocks does not make it switch back and forth.
const MARGIN: f64 = 0.9;

/// Blocks between two tries of the other mode: at first, and after every switch.
const FIRST_TRY: u32 = 4;

/// Most blocks between two tries of the other mode (four times as many as before each time
/// a try loses, from [`FIRST_TRY`]): a losing try then costs about 1/128 of the time, and a
/// core that has become free again is used within 1.3 s.
const LAST_TRY: u32 = 128;

/// Blocks of one mode whose median is that mode's time: a single block slowed by something
/// else on the machine does not move it, a core that stays busy does.
const KEPT: usize = 5;

/// The seconds per sample of a mode's last [`KEPT`] blocks.
#[derive(Debug, Clone, Copy, Default)]
struct Recent {
    values: [f64; KEPT],
    len: usize,
    next: usize,
}

impl Recent {
    /// Adds a block's seconds per sample, forgetting the oldest of [`KEPT`].
    fn push(&mut self, seconds: f64) {
        self.values[self.next] = seconds;
        self.next = (self.next + 1) % KEPT;
        self.len = (self.len + 1).min(KEPT);
    }

    /// The median of the blocks kept (the upper one of an even count); `None` before any.
    fn median(&self) -> Option<f64> {
        let mut kept = self.values;
        let kept = &mut kept[..self.len];
        kept.sort_by(f64::total_cmp);
        kept.get(self.len / 2).copied()
    }
}

/// Chooses, block by block of steps, whether a run's halves run side by side or in turn.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// The run's parallelism with its spare threads; with none, there is nothing to choose.
    spare: Par,
    /// Whether the halves run in turn now.
    in_turn: bool,
    /// Seconds per sample of each mode's last blocks (side by side, in turn).
    recent: [Recent; 2],
    /// Training time and samples of the block under way.
    block: (Duration, usize),
    /// When the step under way began.
    began: Option<Instant>,
    /// Blocks timed in each mode (side by side, in turn).
    blocks: [u64; 2],
    /// Whether the block under way tries the other mode.
    trying: bool,
    /// Blocks until the next try of the other mode.
    until_try: u32,
    /// Blocks between tries, growing each time a try loses.
    interval: u32,
    /// Whether steps are timed and the mode chosen: not for a run whose steps split nothing
    /// (see [`Pacer::untimed`]).
    timed: bool,
}

impl Pacer {
    /// A pacer for a run whose products may use `spare` (sequential: nothing to choose).
    pub(crate) fn new(spare: Par) -> Self {
        Self {
            spare,
            in_turn: false,
            recent: [Recent::default(); 2],
            block: (Duration::ZERO, 0),
            began: None,
            blocks: [0; 2],
            trying: false,
            until_try: FIRST_TRY,
            interval: FIRST_TRY,
            timed: true,
        }
    }

    /// A pacer that leaves the halves side by side and times nothing, for a run whose steps
    /// have no halves (`Network::step_splits`): there the mode changes nothing, and timing
    /// each step would not be free (reading the clock twice cost about 150 instructions per
    /// step of small_mlp_b1, whose step takes about a quarter of a microsecond). The
    /// evaluation still shares its pieces with the spare threads.
    pub(crate) fn untimed(spare: Par) -> Self {
        Self {
            timed: false,
            ..Self::new(spare)
        }
    }

    /// The run's parallelism with its spare threads, as given.
    pub(crate) fn spare(&self) -> Par {
        self.spare
    }

    /// Starts a step: sets this thread's mode and returns the parallelism its products use.
    pub(crate) fn begin(&mut self) -> Par {
        if self.spare.degree() <= 1 || !self.timed {
            return self.spare;
        }
        take_turns(self.in_turn);
        self.began = Some(Instant::now());
        if self.in_turn { Par::Seq } else { self.spare }
    }

    /// Sets this thread's mode for an evaluation between epochs, whose pieces a second thread
    /// shares ([`descent_core::SHARED_EVALUATION`]): side by side unless halves side by side
    /// have been measured slower than in turn, which means the second core is busy. Not the
    /// training's mode: that keeps its halves in turn also when side by side is merely not
    /// clearly faster (an MNIST run at batch 128 spent 126 of 154 blocks in turn at 5.6 µs
    /// per sample, against 5.3 side by side), while the evaluation's independent pieces
    /// nearly halve its time whenever the core is free. A piece is short, so a second thread
    /// that is slow to come delays the evaluation by at most the piece it took.
    pub(crate) fn before_evaluation(&self) {
        if self.spare.degree() > 1 {
            take_turns(self.second_core_busy());
        }
    }

    /// Whether halves side by side have been measured slower than in turn.
    fn second_core_busy(&self) -> bool {
        match (self.recent[0].median(), self.recent[1].median()) {
            (Some(side), Some(turn)) => side > turn,
            _ => false,
        }
    }

    /// Ends a step of `samples` samples; after a block, chooses the mode of the next one.
    pub(crate) fn end(&mut self, samples: usize) {
        let Some(began) = self.began.take() else {
            return;
        };
        self.block.0 += began.elapsed();
        self.block.1 += samples;
        if self.block.0 < BLOCK {
            return;
        }
        let (time, samples) = std::mem::replace(&mut self.block, (Duration::ZERO, 0));
        let seconds = time.as_secs_f64() / samples.max(1) as f64;
        let mode = usize::from(self.in_turn);
        self.blocks[mode] += 1;
        self.recent[mode].push(seconds);
        self.in_turn = self.next_mode();
    }

    /// Whether the next block runs in turn.
    fn next_mode(&mut self) -> bool {
        let (Some(side), Some(turn)) = (self.recent[0].median(), self.recent[1].median()) else {
            // The other mode is still unmeasured: try it.
            self.trying = true;
            return !self.in_turn;
        };
        let (this, other) = if self.in_turn {
            (turn, side)
        } else {
            (side, turn)
        };
        if std::mem::take(&mut self.trying) {
            // The mode tried is kept if it is clearly faster, and questioned soon; if not,
            // it is tried again later each time.
            let kept = this < MARGIN * other;
            self.interval = if kept {
                FIRST_TRY
            } else {
                (self.interval * 4).min(LAST_TRY)
            };
            self.until_try = self.interval;
            return if kept { self.in_turn } else { !self.in_turn };
        }
        if other < MARGIN * this {
            // This mode has become clearly slower than the other was: switch.
            self.interval = FIRST_TRY;
            self.until_try = FIRST_TRY;
            return !self.in_turn;
        }
        self.until_try -= 1;
        if self.until_try == 0 {
            // The other mode's blocks are old by now: the try alone measures it.
            self.trying = true;
            self.recent[usize::from(!self.in_turn)] = Recent::default();
            return !self.in_turn;
        }
        self.in_turn
    }
}

impl Drop for Pacer {
    /// Leaves the thread side by side, the default, for whatever it runs next, and logs
    /// what it measured (`RUST_LOG=debug`).
    fn drop(&mut self) {
        if self.spare.degree() > 1 && self.timed {
            take_turns(false);
            let micros = |r: &Recent| r.median().map_or(f64::NAN, |s| s * 1e6);
            tracing::debug!(
                side_by_side_us_per_sample = micros(&self.recent[0]),
                in_turn_us_per_sample = micros(&self.recent[1]),
                blocks_in_turn = self.blocks[1],
                blocks = self.blocks[0] + self.blocks[1],
                "spare threads paced"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pacer` one block in its current mode, taking `seconds_per_sample(in_turn)`.
    fn block(pacer: &mut Pacer, seconds_per_sample: impl Fn(bool) -> f64) -> bool {
        let in_turn = pacer.in_turn;
        pacer.begin();
        pacer.began = Some(Instant::now());
        pacer.block = (
            Duration::from_secs_f64(seconds_per_sample(in_turn) * 1000.0),
            0,
        );
        pacer.end(1000);
        in_turn
    }

    /// Where halves side by side are 1.3 times as fast (an idle machine), the pacer spends
    /// almost every block side by side after trying the other mode; where they are twice as
    /// slow (a busy core), almost every block in turn. Blocks vary by ±15 % around their
    /// mode's time.
    #[test]
    fn the_pacer_keeps_the_faster_mode_and_tries_the_other_ever_less_often() {
        for (side, turn) in [(1.0e-5, 1.3e-5), (2.0e-5, 1.0e-5)] {
            let mut pacer = Pacer::new(Par::rayon(2));
            let noise = [1.0, 1.15, 0.85, 1.1, 0.9, 1.05];
            let modes: Vec<bool> = (0..400)
                .map(|i| block(&mut pacer, |t| noise[i % 6] * if t { turn } else { side }))
                .collect();
            let faster_in_turn = turn < side;
            let slow = modes.iter().filter(|&&t| t != faster_in_turn).count();
            assert!(
                (2..=12).contains(&slow),
                "{side} {turn}: {slow} slow blocks of 400"
            );
            assert_eq!(modes.last(), Some(&faster_in_turn));
        }
    }

    /// When the second core becomes busy, the pacer turns to taking turns within a few
    /// blocks; when it is free again, it goes back to side by side at the next try.
    #[test]
    fn the_pacer_follows_a_core_that_becomes_busy_and_free_again() {
        let mut pacer = Pacer::new(Par::rayon(2));
        let idle = |t: bool| if t { 1.3e-5 } else { 1.0e-5 };
        let busy = |t: bool| if t { 1.3e-5 } else { 2.6e-5 };
        let idle_start: Vec<bool> = (0..100).map(|_| block(&mut pacer, idle)).collect();
        assert!(!idle_start[90..].iter().any(|&t| t));
        let busy_core: Vec<bool> = (0..200).map(|_| block(&mut pacer, busy)).collect();
        let late = busy_core.iter().position(|&t| t).expect("turns taken");
        assert!(late <= 4, "side by side for {late} blocks on a busy core");
        assert!(busy_core[20..].iter().filter(|&&t| !t).count() <= 8);
        let idle_again: Vec<bool> = (0..400).map(|_| block(&mut pacer, idle)).collect();
        let back = idle_again
            .iter()
            .position(|&t| !t)
            .expect("back side by side");
        assert!(
            back <= LAST_TRY as usize,
            "in turn for {back} blocks on a free core"
        );
        let turns = idle_again[back..].iter().filter(|&&t| t).count();
        assert!(turns <= 6, "{turns} blocks in turn once back");
    }

    /// Without spare threads nothing is timed and products stay sequential.
    #[test]
    fn without_spare_threads_there_is_nothing_to_choose() {
        let mut pacer = Pacer::new(Par::Seq);
        assert_eq!(pacer.begin(), Par::Seq);
        pacer.end(64);
        assert!(pacer.began.is_none() && pacer.recent[0].median().is_none());
    }

    /// An untimed pacer hands out the spare threads side by side at every step, reads no
    /// clock and never changes mode; evaluation goes side by side.
    #[test]
    fn an_untimed_pacer_keeps_side_by_side_and_times_nothing() {
        let mut pacer = Pacer::untimed(Par::rayon(2));
        for _ in 0..100 {
            assert_eq!(pacer.begin(), Par::rayon(2));
            assert!(pacer.began.is_none(), "a step was timed");
            pacer.end(64);
        }
        assert!(!pacer.in_turn && pacer.blocks == [0, 0]);
        assert!(!pacer.second_core_busy());
    }

    /// Evaluation goes side by side unless side by side has been measured slower: also
    /// where training keeps its halves in turn because side by side is not clearly faster.
    #[test]
    fn evaluation_goes_side_by_side_unless_the_second_core_is_busy() {
        let mut pacer = Pacer::new(Par::rayon(2));
        assert!(!pacer.second_core_busy(), "unmeasured");
        // A busy second core: side by side twice as slow.
        for _ in 0..30 {
            block(&mut pacer, |t| if t { 1.0e-5 } else { 2.0e-5 });
        }
        assert!(pacer.second_core_busy());
        // Free again, side by side 5 % faster: not enough for training to switch back.
        let modes: Vec<bool> = (0..300)
            .map(|_| block(&mut pacer, |t| if t { 1.05e-5 } else { 1.0e-5 }))
            .collect();
        let in_turn = modes.iter().filter(|&&t| t).count();
        assert!(in_turn >= 290, "{in_turn} of 300 blocks in turn");
        assert!(!pacer.second_core_busy());
    }
}
