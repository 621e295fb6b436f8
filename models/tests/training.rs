//! A short CPU training run on a generated data set: the loss must fall,
//! and a run continued from its net must start where it ended.

mod common;

use burn::tensor::Device;
use siamedge_models::data::ImageSet;
use siamedge_models::loss::margin::MarginKind;
use siamedge_models::train::{train, train_from, Objective, Trained};

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

/// Forty triplet steps from a fresh net on `data`.
fn forty_steps(data: &ImageSet) -> Trained {
    train(
        &common::tiny_config(40),
        data,
        &common::prep(),
        &Device::flex(),
    )
    .unwrap()
}

#[test]
fn triplet_loss_falls_on_cpu() {
    let log = forty_steps(&common::tiny_set(6, 8, 1)).log;
    let losses: Vec<f32> = log.iter().map(|p| p.loss).collect();
    let (first, last) = (mean(&losses[..8]), mean(&losses[losses.len() - 8..]));
    assert!(
        last < 0.8 * first,
        "loss did not fall: first steps {first}, last steps {last}; {losses:?}"
    );
    assert!(log.iter().all(|p| p.spread.rank > 1));
}

#[test]
fn every_objective_and_pseudo_branches_take_steps() {
    let data = common::tiny_set(6, 4, 2);
    let objectives = [
        Objective::Contrastive { margin: 1.0 },
        Objective::Quadruplet {
            margin1: 0.3,
            margin2: 0.1,
        },
        Objective::Koch,
        Objective::Margin(MarginKind::ArcFace {
            scale: 16.0,
            margin: 0.2,
        }),
        Objective::Margin(MarginKind::CosFace {
            scale: 16.0,
            margin: 0.2,
        }),
        Objective::Prototypical { scale: 8.0 },
    ];
    for objective in objectives {
        let mut config = common::tiny_config(3);
        config.objective = objective;
        config.pseudo = matches!(objective, Objective::Contrastive { .. });
        let trained = train(&config, &data, &common::prep(), &Device::flex()).unwrap();
        let (net, log) = (trained.net, trained.log);
        assert!(
            log.iter().all(|p| p.loss.is_finite()),
            "{objective:?}: {log:?}"
        );
        assert_eq!(net.is_pseudo(), config.pseudo);
    }
}

#[test]
fn a_spent_time_budget_stops_the_run_early() {
    let data = common::tiny_set(6, 4, 1);
    let mut config = common::tiny_config(1_000_000);
    config.time_budget = Some(std::time::Duration::from_millis(300));
    let trained = train(&config, &data, &common::prep(), &Device::flex()).unwrap();
    assert!(
        (1..1_000_000).contains(&trained.steps),
        "took {} steps",
        trained.steps
    );
    assert_eq!(trained.log.len(), trained.steps);
}

#[test]
fn a_continued_run_starts_from_the_trained_weights() {
    let data = common::tiny_set(6, 8, 1);
    let first = forty_steps(&data);
    let fresh: Vec<f32> = first.log[..8].iter().map(|p| p.loss).collect();
    // Same seed: the continued run sees the same first eight batches.
    let continued = train_from(
        &common::tiny_config(8),
        first.net,
        &data,
        &common::prep(),
        &Device::flex(),
    )
    .unwrap();
    let resumed: Vec<f32> = continued.log.iter().map(|p| p.loss).collect();
    assert!(
        mean(&resumed) < 0.8 * mean(&fresh),
        "continued run did not start from the trained net: fresh {fresh:?}, continued {resumed:?}"
    );
}
