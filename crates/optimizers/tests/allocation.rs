//! Once the first batch has run, a training step allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use descent_core::activation::{Activation, Pointwise, Relu, Softmax, Tanh};
use descent_core::data::synthetic::Synthetic;
use descent_core::data::{Batch, Dataset, Task};
use descent_core::init::Init;
use descent_core::loss::CrossEntropy;
use descent_core::{LayerSpec, Network};
use descent_optim::batching::{BatchSize, Batcher};
use descent_optim::rules::{Adam, Hyperparameters, UpdateRule};

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by the steps of an epoch and the first step of the next, after one
/// warm-up step.
fn allocations_after_the_first_step<T: descent_core::Float>(
    batcher: &mut Batcher<T>,
    data: &Dataset<T>,
    mut step: impl FnMut(&Batch<'_, T>),
) -> usize {
    batcher.start_epoch();
    step(&batcher.batch(data, 0));
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for k in 1..batcher.batches_per_epoch() {
        step(&batcher.batch(data, k));
    }
    batcher.start_epoch();
    step(&batcher.batch(data, 0));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// Steps of shuffled mini-batches through a small network (hand-written kernels) and a
/// large one (faer's products), with Adam (gradient, then update) and plain SGD (fused
/// into back-propagation, deferred at batch 1), allocate nothing after the first.
#[test]
fn training_steps_allocate_nothing_after_the_first() {
    for (features, hidden, batch) in [(4, 8, 8), (64, 128, 64), (4, 8, 1), (64, 128, 1)] {
        let data = Synthetic {
            samples: 256,
            features,
            classes: 3,
            noise: 1.0,
            seed: 1,
        }
        .teacher(&[hidden], false, Task::Multiclass { classes: 3 })
        .expect("data")
        .convert::<f32>();
        let layers = vec![
            LayerSpec::new(
                hidden,
                Arc::new(Pointwise(Relu)) as Arc<dyn Activation<f32>>,
                Init::He,
            ),
            LayerSpec::new(hidden, Arc::new(Pointwise(Tanh)), Init::Xavier),
            LayerSpec::new(3, Arc::new(Softmax), Init::Xavier),
        ];
        let mut net = Network::new(features, layers, Arc::new(CrossEntropy), 0).expect("network");
        let mut rule = Adam::new(net.params().len(), &Hyperparameters::default());
        let mut batcher = Batcher::new(&data, BatchSize::Samples(batch), true, 3);
        net.reserve(batch);
        let adam = allocations_after_the_first_step(&mut batcher, &data, |b| {
            net.compute_gradients(b).expect("differentiable");
            let (p, g) = net.params_and_grads();
            rule.update(p, g, 0.01);
        });
        let mut sgd = net.descent(0.01);
        let plain = allocations_after_the_first_step(&mut batcher, &data, |b| {
            sgd.step(b).expect("differentiable");
        });
        let shape = format!("{features}-{hidden}-{hidden}-3 at batch {batch}");
        assert_eq!(adam, 0, "{shape}, adam: {adam} allocations");
        assert_eq!(plain, 0, "{shape}, sgd: {plain} allocations");
    }
    // The counter does see allocations.
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > before && v.len() == 64);
}
