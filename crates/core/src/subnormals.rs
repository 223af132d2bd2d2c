//! Subnormal numbers flushed to zero, thread by thread.
//!
//! A trained classifier grows confident: its softmax puts `1e-38` on the wrong classes, and
//! the error signals back-propagated from them, the products of such signals with the
//! weights, and the state of update rules decay below the smallest normal number
//! (`1.2e-38` in `f32`). On x86 every operation that reads or produces such a subnormal
//! number takes a microcode assist of about a hundred cycles, so a network that has learnt
//! well can train slower than one that has not (a Lion run at batch 512 on MNIST-shaped data:
//! 98k samples/s, 113k with subnormals flushed). XLA's and TensorFlow's CPU threads flush them
//! for the same reason. A value this small moves no weight of `f32` magnitude, and every
//! thread of a run flushes alike, so results stay the same whatever the thread count.

/// Makes the calling thread's floating-point arithmetic read subnormal inputs as zero and
/// round subnormal results to zero (x86-64's `MXCSR` FTZ and DAZ bits; AArch64's `FPCR` FZ
/// bit; nothing elsewhere). It lasts for the thread's life: call it at the start of every
/// thread that trains or evaluates, as the runner's thread pools do.
pub fn flush_subnormals() {
    #[cfg(target_arch = "x86_64")]
    {
        /// Denormals-are-zero (bit 6) and flush-to-zero (bit 15).
        const DAZ_FTZ: u32 = 0x8040;
        let mut csr = 0_u32;
        // SAFETY: `stmxcsr` stores the 4-byte register into `csr`, `ldmxcsr` loads it back
        // with two mode bits set; neither touches other memory or the stack. The modes only
        // change how subnormal values round, never memory safety.
        unsafe {
            std::arch::asm!(
                "stmxcsr [{}]",
                in(reg) &raw mut csr,
                options(nostack, preserves_flags)
            );
            csr |= DAZ_FTZ;
            std::arch::asm!(
                "ldmxcsr [{}]",
                in(reg) &raw const csr,
                options(nostack, preserves_flags, readonly)
            );
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        /// Flush-to-zero (bit 24).
        const FZ: u64 = 1 << 24;
        let fpcr: u64;
        // SAFETY: reads and writes the floating-point control register only; FZ changes
        // how subnormal values round, never memory safety.
        unsafe {
            std::arch::asm!(
                "mrs {}, fpcr",
                out(reg) fpcr,
                options(nomem, nostack, preserves_flags)
            );
            std::arch::asm!(
                "msr fpcr, {}",
                in(reg) fpcr | FZ,
                options(nomem, nostack, preserves_flags)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// Half the smallest normal number is subnormal before, zero after, in both precisions;
    /// a subnormal input reads as zero; normal arithmetic is untouched. On a thread of its
    /// own, so that no other test's arithmetic changes mode.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn subnormal_inputs_and_results_become_zero() {
        std::thread::spawn(|| {
            let half = black_box(0.5_f32);
            let tiny = black_box(f32::MIN_POSITIVE) * half;
            assert!(tiny > 0.0 && !tiny.is_normal());
            assert!(black_box(f64::MIN_POSITIVE) * f64::from(half) > 0.0);
            flush_subnormals();
            assert_eq!(black_box(f32::MIN_POSITIVE) * half, 0.0);
            assert_eq!(black_box(f64::MIN_POSITIVE) * f64::from(half), 0.0);
            assert_eq!(black_box(1.5_f32) * half, 0.75);
            assert_eq!(black_box(tiny) + black_box(0.0_f32), 0.0);
        })
        .join()
        .expect("the thread's assertions hold");
    }
}
