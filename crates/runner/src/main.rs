//! The `descent` command.

fn main() {
    println!("descent {}", env!("CARGO_PKG_VERSION"));
    println!("Train and compare perceptrons, linear and logistic regression and MLPs.");
    println!(
        "The experiment runner is not built yet; the engine lives in descent-core and descent-optim."
    );
}
