//! Expansion, overrides and located errors of experiment files.

use super::*;

fn parse_text(text: &str, sets: &[&str]) -> Result<Experiment, ConfigError> {
    let sets: Vec<String> = sets.iter().map(|s| (*s).to_owned()).collect();
    parse(
        SourceFile {
            path: "exp.toml".into(),
            text: text.into(),
        },
        &sets,
        &crate::registry::Registry::with_builtins(),
    )
}

const BASE: &str = r#"
[experiment]
name = "t"
seeds = [0, 1]

[dataset]
name = "iris"

[model]
kind = "mlp"
hidden = [8]

[optimizer]
learning_rate = 0.1

[grid]
training.batch_size = [1, "full"]
optimizer.learning_rate = [0.01, 0.1, 1.0]
"#;

#[test]
fn runs_are_variants_times_grid_times_seeds_in_order() {
    let e = parse_text(BASE, &[]).unwrap();
    assert_eq!(e.runs.len(), 2 * 3 * 2);
    assert_eq!(
        e.axes,
        vec!["training.batch_size", "optimizer.learning_rate"]
    );
    let firsts: Vec<(String, u64)> = e
        .runs
        .iter()
        .take(3)
        .map(|r| (r.swept["optimizer.learning_rate"].to_string(), r.seed))
        .collect();
    assert_eq!(
        firsts,
        vec![("0.01".into(), 0), ("0.01".into(), 1), ("0.1".into(), 0)]
    );
    assert_eq!(
        e.runs[6].config.training.batch_size,
        schema::BatchSetting::Full
    );
    assert!(e.runs.iter().enumerate().all(|(i, r)| r.index == i));
    let ids: std::collections::HashSet<_> = e.runs.iter().map(|r| &r.run_id).collect();
    assert_eq!(ids.len(), e.runs.len(), "run ids are unique");
}

/// A kind's key written at its default is the run it would be unwritten: same
/// configuration, same id (so resuming a file that spells out a default trains nothing).
#[test]
fn a_default_written_out_keeps_the_run_id() {
    let plain = "[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n[optimizer]\nkind = \"momentum\"\n";
    let spelled = plain
        .replace(
            "\"moons\"\n",
            "\"moons\"\nsamples = 500\nnoise = 0.1\nseed = 0\n",
        )
        .replace("\"momentum\"\n", "\"momentum\"\nmomentum = 0.9\n");
    let id = |text: &str, sets: &[&str]| parse_text(text, sets).unwrap().runs[0].run_id.clone();
    assert_eq!(id(plain, &[]), id(&spelled, &[]));
    assert_eq!(id(plain, &[]), id(plain, &["dataset.samples=500"]));
    assert_ne!(id(plain, &[]), id(plain, &["dataset.samples=501"]));
    assert_ne!(id(plain, &[]), id(plain, &["optimizer.momentum=0.8"]));
}

/// The run ids of a fixed configuration, pinned: if this test fails, a change altered the
/// canonical form of configurations and every existing journal would stop resuming.
#[test]
fn run_ids_are_golden() {
    let e = parse_text(BASE, &[]).unwrap();
    let ids: Vec<&str> = e.runs.iter().take(4).map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, GOLDEN);
}

const GOLDEN: [&str; 4] = [
    "cd072b187a78",
    "e14b651b1efc",
    "3be2cc910269",
    "13a3d14d50c9",
];

#[test]
fn variants_merge_key_by_key_then_grid_then_set() {
    let text = format!(
        "{BASE}\n[[variant]]\nname = \"a\"\nmodel = {{ activation = \"tanh\" }}\n[[variant]]\nname = \"b\"\noptimizer = {{ learning_rate = 5.0, kind = \"adam\" }}\n"
    );
    let e = parse_text(&text, &["training.epochs=3", "optimizer.learning_rate=0.5"]).unwrap();
    assert_eq!(e.variants, vec!["a", "b"]);
    let a = &e.runs[0].config;
    assert_eq!(
        (
            a.model.settings.get("hidden"),
            a.model.settings.get("activation")
        ),
        (
            Some(&serde_json::json!([8])),
            Some(&serde_json::json!("tanh"))
        ),
        "variant keys merge over the base"
    );
    assert_eq!(a.training.epochs, 3);
    assert!(
        e.runs
            .iter()
            .all(|r| r.config.optimizer.learning_rate == 0.5),
        "--set wins over grid and variants"
    );
    assert_eq!(
        e.runs.len(),
        8, // 2 variants × 2 batch sizes × 1 learning rate × 2 seeds
        "the overridden axis collapses to one value"
    );
    assert_eq!(e.runs.last().unwrap().config.optimizer.kind, "adam");
}

#[test]
fn a_base_may_leave_a_key_to_the_grid() {
    let text = "[model]\nkind = \"logistic\"\n[grid]\ndataset.name = [\"iris\", \"wine\"]\n";
    let e = parse_text(text, &[]).unwrap();
    assert_eq!(e.runs.len(), 2);
    assert_eq!(e.name, "exp");
}

#[test]
fn grid_values_that_are_arrays_are_one_value() {
    let text = "[dataset]\nname = \"iris\"\n[model]\nkind = \"mlp\"\n[grid]\nmodel.hidden = [[16], [32, 32]]\n";
    let e = parse_text(text, &[]).unwrap();
    assert_eq!(e.runs.len(), 2);
    assert_eq!(
        e.runs[1].config.model.settings.get("hidden"),
        Some(&serde_json::json!([32, 32]))
    );
}

fn first_error(text: &str, sets: &[&str]) -> Diagnostic {
    parse_text(text, sets).unwrap_err().diagnostics.remove(0)
}

#[test]
fn unknown_keys_are_located_with_a_suggestion() {
    let text =
        "[dataset]\nname = \"iris\"\n[model]\nkind = \"mlp\"\n[optimizer]\nlearning_rat = 0.1\n";
    let d = first_error(text, &[]);
    assert_eq!(d.location, "exp.toml:6:1");
    assert_eq!(d.key.as_deref(), Some("optimizer.learning_rat"));
    assert!(d.help.unwrap().starts_with("did you mean `learning_rate`?"));
    let d = first_error("[modle]\nkind = \"mlp\"\n", &[]);
    assert!(d.help.unwrap().contains("did you mean `model`?"));
}

#[test]
fn type_errors_and_bad_values_name_the_key() {
    let d = first_error(&BASE.replace("hidden = [8]", "hidden = \"wide\""), &[]);
    assert_eq!(
        (d.key.as_deref(), d.location.as_str()),
        (Some("model.hidden"), "exp.toml:11:1")
    );
    // a grid axis replaces the base's value, so a bad base value under an axis is never used
    assert!(
        parse_text(
            &BASE.replace("learning_rate = 0.1", "learning_rate = \"fast\""),
            &[]
        )
        .is_ok()
    );
    let d = first_error(&BASE.replace("[1, \"full\"]", "[0, 8]"), &[]);
    assert_eq!(d.key.as_deref(), Some("training.batch_size"));
    assert!(d.message.contains("out of range"), "{}", d.message);
    let d = first_error(&BASE.replace("[0.01, 0.1, 1.0]", "[]"), &[]);
    assert!(d.message.contains("empty grid axis"), "{}", d.message);
    let d = first_error(BASE, &["training.epochs=many"]);
    assert!(d.location.starts_with("--set #1"), "{}", d.location);
    let d = first_error(&BASE.replace("name = \"t\"", "name = \"../up\""), &[]);
    assert_eq!(d.key.as_deref(), Some("experiment.name"));
    let d = first_error("[model\nkind = 1", &[]);
    assert!(d.message.starts_with("not valid TOML"), "{}", d.message);
    let d = first_error(
        "[dataset]\nname = \"iris\"\n[model]\nkind = \"mlp\"\n[grid]\nepochs = [1]\n",
        &[],
    );
    assert!(d.help.unwrap().contains("training.epochs"));
}

#[test]
fn a_name_longer_than_a_file_name_may_be_is_located() {
    let long = "n".repeat(MAX_NAME_BYTES + 1);
    let d = first_error(
        &BASE.replace("name = \"t\"", &format!("name = \"{long}\"")),
        &[],
    );
    assert_eq!(
        (d.key.as_deref(), d.location.as_str()),
        (Some("experiment.name"), "exp.toml:3:1")
    );
    assert!(d.message.contains("at most 255"), "{}", d.message);
    let longest = "n".repeat(MAX_NAME_BYTES);
    assert!(parse_text(BASE, &[&format!("experiment.name=\"{longest}\"")]).is_ok());
}

#[test]
fn a_missing_required_key_says_where_to_set_it() {
    let d = first_error("[dataset]\nname = \"iris\"\n", &[]);
    assert_eq!(d.key.as_deref(), Some("model"));
    assert!(d.message.contains("missing key"), "{}", d.message);
}

/// What identifies the runs of an experiment, in order.
fn run_keys(e: &Experiment) -> Vec<(usize, String, String, u64, String)> {
    e.runs
        .iter()
        .map(|r| {
            let swept = serde_json::to_string(&r.swept).unwrap_or_default();
            (r.index, r.run_id.clone(), r.variant.clone(), r.seed, swept)
        })
        .collect()
}

/// `experiment.toml` is read back by `descent merge`: without any override it must expand to
/// the runs of the original file with its overrides, id for id and in the same order.
#[test]
fn the_resolved_experiment_reads_back_to_the_same_runs() {
    let with_variants = format!(
        "{}\n[[variant]]\nname = \"a\"\nmodel = {{ activation = \"tanh\", hidden = [4] }}\n[[variant]]\nname = \"b\"\noptimizer = {{ learning_rate = 5.0, kind = \"adam\" }}\n",
        BASE.replace("name = \"t\"\n", "")
    );
    let cases: &[&[&str]] = &[
        &[],
        &["training.epochs=7"],
        &["optimizer.learning_rate=0.5"],
        &["model.hidden=[3, 3]", "optimizer.kind=momentum"],
        &["grid.training.batch_size=[4, 2]", "experiment.seeds=[5]"],
        &["experiment.name=renamed", "training.batch_size=16"],
    ];
    for sets in cases {
        let original = parse_text(&with_variants, sets).unwrap();
        let text = original.to_toml().unwrap();
        assert!(
            text.starts_with("# The experiment as run: exp.toml"),
            "{text}"
        );
        let again = parse(
            SourceFile {
                path: "out/experiment.toml".into(),
                text: text.clone(),
            },
            &[],
            &crate::registry::Registry::with_builtins(),
        )
        .unwrap_or_else(|e| panic!("{sets:?}: {e}\n{text}"));
        assert_eq!(run_keys(&again), run_keys(&original), "{sets:?}:\n{text}");
        assert_eq!(
            (&again.name, &again.axes, &again.variants),
            (&original.name, &original.axes, &original.variants),
            "{sets:?}"
        );
    }
    assert_eq!(parse_text(&with_variants, &[]).unwrap().name, "exp");
}

/// Found by fuzzing: an override with a line break (or another control character) cut the
/// comment that heads `experiment.toml`, and the rest of its line became invalid TOML.
#[test]
fn overrides_with_line_breaks_stay_in_the_header_comment() {
    let sets = [
        "dataset.name=wine\n-x.y=39",
        "model.activation=tanh\r\n[model]",
        "optimizer.kind=adam\u{1}",
    ];
    for set in sets {
        let original = parse_text(BASE, &[set]).unwrap();
        let text = original.to_toml().unwrap();
        assert_eq!(
            text.lines().filter(|l| l.starts_with('#')).count(),
            1,
            "{text}"
        );
        let again = parse(
            SourceFile {
                path: "out/experiment.toml".into(),
                text: text.clone(),
            },
            &[],
            &crate::registry::Registry::with_builtins(),
        )
        .unwrap_or_else(|e| panic!("{set:?}: {e}\n{text}"));
        assert_eq!(run_keys(&again), run_keys(&original), "{set:?}:\n{text}");
    }
    let text = parse_text(BASE, &["dataset.name=wine\n-x.y=39"])
        .unwrap()
        .to_toml()
        .unwrap();
    assert!(
        text.contains("--set dataset.name=wine\\n-x.y=39\n"),
        "{text}"
    );
}

crate::settings! {
    /// A plugin rule's settings, for the tests.
    struct SignumSettings {
        /// Momentum of the averaged gradient, in [0, 1).
        beta: f64 = 0.9,
    }
}

impl settings::Settings for SignumSettings {
    fn check(&self) -> Result<(), settings::Invalid> {
        settings::Invalid::fraction("beta", self.beta)
    }
}

/// A plugin optimizer with a key of its own (it builds plain SGD: only its settings matter).
struct Signum;

impl crate::registry::OptimizerKind for Signum {
    type Settings = SignumSettings;
    fn build<T: descent_core::Float>(
        &self,
        _: &schema::OptimizerConfig,
        _: &SignumSettings,
        len: usize,
    ) -> Box<dyn descent_optim::rules::UpdateRule<T>> {
        Box::new(descent_optim::rules::Sgd::new(
            len,
            &descent_optim::rules::Hyperparameters::default(),
        ))
    }
}

fn parse_with_signum(text: &str) -> Result<Experiment, ConfigError> {
    let mut registry = crate::registry::Registry::with_builtins();
    registry
        .plugin("signum-plugin", |r| {
            r.optimizer("signum", "sign of momentum", Signum)
        })
        .expect("a free name");
    parse(
        SourceFile {
            path: "exp.toml".into(),
            text: text.into(),
        },
        &[],
        &registry,
    )
}

const SIGNUM: &str =
    "[dataset]\nname = \"iris\"\n[model]\nkind = \"logistic\"\n[optimizer]\nkind = \"signum\"\n";

#[test]
fn a_plugin_key_is_read_checked_and_located_like_a_built_in_one() {
    let e = parse_with_signum(&format!("{SIGNUM}beta = 0.5\n")).unwrap();
    assert_eq!(e.runs[0].config.optimizer.settings["beta"], 0.5);

    let d = parse_with_signum(&format!("{SIGNUM}betta = 0.5\n"))
        .unwrap_err()
        .diagnostics
        .remove(0);
    assert_eq!(d.location, "exp.toml:7:1");
    assert_eq!(d.key.as_deref(), Some("optimizer.betta"));
    assert_eq!(d.message, "unknown key `betta`");
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `beta`?"),
        "{d}"
    );

    let d = parse_with_signum(&format!("{SIGNUM}beta = 1.5\n"))
        .unwrap_err()
        .diagnostics
        .remove(0);
    assert_eq!(
        (d.location.as_str(), d.key.as_deref(), d.message.as_str()),
        (
            "exp.toml:7:1",
            Some("optimizer.beta"),
            "must be in [0, 1), not 1.5"
        )
    );

    let d = parse_with_signum(&format!("{SIGNUM}beta = \"high\"\n"))
        .unwrap_err()
        .diagnostics
        .remove(0);
    assert_eq!(d.key.as_deref(), Some("optimizer.beta"));
    assert!(d.message.contains("expected f64"), "{d}");
}

#[test]
fn built_in_settings_are_checked_at_their_key_and_stored_in_their_type() {
    let base = "[dataset]\nname = \"iris\"\n[model]\nkind = \"logistic\"\n[optimizer]\n";
    let d = first_error(&format!("{base}kind = \"adam\"\nbeta2 = 1.0\n"), &[]);
    assert_eq!(d.key.as_deref(), Some("optimizer.beta2"));
    assert_eq!(d.location, "exp.toml:7:1");
    // A key of another kind is kept (the plan warns that it is unused), checked by its type.
    let e = parse_text(
        &format!("{base}kind = \"adam\"\nschedule = \"step\"\nmomentum = 0.5\ngamma = 1\n"),
        &[],
    )
    .unwrap();
    let settings = &e.runs[0].config.optimizer.settings;
    assert_eq!(settings["momentum"], 0.5);
    // Stored as the float its type says, so the run id is the one `gamma = 1.0` gives.
    assert_eq!(settings["gamma"].to_string(), "1.0");
    let d = first_error(&format!("{base}momentum = -1\n"), &[]);
    assert_eq!(d.key.as_deref(), Some("optimizer.momentum"));
}

#[test]
fn dataset_and_model_keys_are_checked_by_their_kinds() {
    let one = |text: &str, sets: &[&str]| parse_text(text, sets).unwrap_err().diagnostics.remove(0);
    // A misspelt MLP key: located, with the kind's key suggested.
    let d = one(
        "[dataset]\nname = \"moons\"\n[model]\nkind = \"mlp\"\nhiden = [3]\n",
        &[],
    );
    assert_eq!(
        (d.location.as_str(), d.key.as_deref(), d.message.as_str()),
        ("exp.toml:5:1", Some("model.hiden"), "unknown key `hiden`")
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `hidden`?"),
        "{d}"
    );
    // The generator's range check, at its key, from a `--set` too.
    let d = one(
        "[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n",
        &["dataset.noise=-1"],
    );
    assert_eq!(
        (d.key.as_deref(), d.message.as_str()),
        (Some("dataset.noise"), "must be ≥ 0, not -1")
    );
    let d = one(
        "[dataset]\nname = \"teacher\"\nhidden = [4, 0]\n[model]\nkind = \"mlp\"\nhidden = [0]\n",
        &[],
    );
    assert_eq!(d.key.as_deref(), Some("dataset.hidden"), "{d}");
    // A misspelling is matched against every kind's keys; only the chosen kinds' are listed.
    let d = one(
        "[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n[optimizer]\nkind = \"adam\"\nmomentom = 0.9\n",
        &[],
    );
    let help = d.help.unwrap_or_default();
    assert!(help.starts_with("did you mean `momentum`?"), "{help}");
    assert!(
        help.contains("`beta1`") && !help.contains("`rho`"),
        "{help}"
    );
    // Written keys keep the form their type gives them; unwritten ones stay out of the id.
    let e = parse_text(
        "[dataset]\nname = \"moons\"\nsamples = 200\nnoise = 0\n[model]\nkind = \"mlp\"\n",
        &[],
    )
    .unwrap();
    let settings = &e.runs[0].config.dataset.settings;
    assert_eq!(settings.get("noise"), Some(&serde_json::json!(0.0)));
    assert_eq!(settings.len(), 2);
    assert!(e.runs[0].config.model.settings.is_empty());
}

#[test]
fn an_unknown_value_of_a_kinds_key_suggests_the_nearest() {
    for (line, nearest) in [
        ("missing = \"maen\"", "mean"),
        ("categorical = \"onehot\"", "one_hot"),
    ] {
        let text = format!("[dataset]\npath = \"d.csv\"\n{line}\n[model]\nkind = \"logistic\"\n");
        let e = parse_text(&text, &[]).unwrap_err();
        let d = &e.diagnostics[0];
        assert!(d.message.contains("unknown value"), "{d}");
        let help = d.help.as_deref().unwrap_or_default();
        assert!(help.contains(&format!("did you mean `{nearest}`?")), "{d}");
    }
}

#[test]
fn a_header_key_set_on_the_command_line_is_located_there() {
    let text =
        "[experiment]\nname = \"x\"\n[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n";
    for set in ["experiment.nmae=y", "experiment.seeds=[]"] {
        let Err(e) = parse_text(text, &["training.epochs=2", set]) else {
            panic!("{set} was accepted");
        };
        let d = &e.diagnostics[0];
        assert!(d.location.starts_with("--set #2"), "{set}: {d}");
    }
}

#[test]
fn a_searched_key_can_be_set_with_its_quoted_name() {
    let text = "[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n\
        [optimizer]\nkind = \"momentum\"\n[search]\nkind = \"random\"\ntrials = 8\n\
        [search.space]\n\"optimizer.momentum\" = { uniform = [0.0, 0.9] }\n";
    let set = "search.space.\"optimizer.momentum\"={ uniform = [0.5, 0.6] }";
    let e = parse_text(text, &[set]).unwrap();
    for run in &e.runs {
        let momentum = run.swept["optimizer.momentum"].as_f64().expect("a number");
        assert!((0.5..=0.6).contains(&momentum), "{momentum}");
    }
}

#[test]
fn a_seed_listed_twice_is_refused_at_the_seeds() {
    for grid in ["", "[grid]\noptimizer.learning_rate = [0.1, 0.2]\n"] {
        let text = format!(
            "[experiment]\nseeds = [0, 1, 1]\n[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n{grid}"
        );
        let e = parse_text(&text, &[]).unwrap_err();
        assert_eq!(e.diagnostics.len(), 1, "{e}");
        let d = &e.diagnostics[0];
        assert_eq!(d.key.as_deref(), Some("experiment.seeds"), "{d}");
        assert!(d.message.contains("seed 1 is listed twice"), "{d}");
        assert!(d.location.starts_with("exp.toml:2:"), "{d}");
    }
}

#[test]
fn a_grid_value_listed_twice_is_refused_at_its_axis() {
    for values in ["[1, 2, 1]", "[0.1, 0.10]"] {
        let text = format!(
            "[dataset]\nname = \"moons\"\n[model]\nkind = \"logistic\"\n[grid]\noptimizer.learning_rate = {}\n",
            values.replace("[1, 2, 1]", "[0.5, 0.2, 0.5]")
        );
        let e = parse_text(&text, &[]).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!(
            d.key.as_deref(),
            Some("grid.optimizer.learning_rate"),
            "{d}"
        );
        assert!(d.message.contains("give the same run"), "{d}");
        assert!(d.location.starts_with("exp.toml:6:"), "{d}");
    }
}
