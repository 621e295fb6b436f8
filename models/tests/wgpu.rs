//! The GPU code path (burn wgpu). On a machine without a GPU it runs on
//! Mesa's lavapipe (`apt-get install -y mesa-vulkan-drivers libvulkan1`);
//! without any adapter this test FAILS and says so: it does not skip.

mod common;

use siamedge_models::device::Compute;
use siamedge_models::train::train;

#[test]
fn trains_a_few_steps_on_wgpu() {
    let device = match Compute::Gpu.device() {
        Ok(d) => d,
        Err(e) => panic!("the wgpu path cannot be tested here: {e}"),
    };
    let data = common::tiny_set(6, 4, 4);
    let trained = train(&common::tiny_config(3), &data, &common::prep(), &device).unwrap();
    let (net, log) = (trained.net, trained.log);
    assert!(
        log.iter().all(|p| p.loss.is_finite() && p.spread.rank > 1),
        "{log:?}"
    );
    assert_eq!(net.branches.len(), 1);
}
