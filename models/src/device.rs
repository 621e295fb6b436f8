//! Choosing the compute device at run time: `cpu` (burn's pure-Rust flex
//! backend) or `gpu` (wgpu: Vulkan, Metal or DirectX; on a machine without a
//! GPU, Vulkan through Mesa's lavapipe).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use burn::tensor::{Device, DeviceKind, Tensor, TensorData};

use crate::TrainError;

/// The compute device to train and evaluate on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compute {
    /// burn's flex backend on the CPU.
    Cpu,
    /// burn's wgpu backend on the default adapter.
    Gpu,
}

impl FromStr for Compute {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Compute, TrainError> {
        match s {
            "cpu" => Ok(Compute::Cpu),
            "gpu" => Ok(Compute::Gpu),
            other => Err(TrainError::Config(format!(
                "device {other:?}: expected `cpu` or `gpu`"
            ))),
        }
    }
}

impl Compute {
    /// The burn device, checked by running one small computation on it.
    ///
    /// A `gpu` without a usable adapter fails here with the packages to
    /// install, rather than panicking in the middle of training.
    pub fn device(self) -> Result<Device, TrainError> {
        let device = match self {
            Compute::Cpu => Device::flex(),
            Compute::Gpu => Device::wgpu(DeviceKind::DefaultDevice),
        };
        let probe = catch_unwind(AssertUnwindSafe(|| {
            let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0], [2]), &device);
            t.sum().into_scalar::<f32>()
        }));
        match probe {
            Ok(v) if (v - 3.0).abs() < 1e-6 => Ok(device),
            Ok(v) => Err(TrainError::Device {
                name: self.name().into(),
                reason: format!("a probe sum gave {v}, expected 3"),
            }),
            Err(panic) => Err(TrainError::Device {
                name: self.name().into(),
                reason: format!(
                    "no usable adapter ({}). On a machine without a GPU install Vulkan on the \
                     CPU: apt-get install -y mesa-vulkan-drivers libvulkan1",
                    panic_text(&panic)
                ),
            }),
        }
    }

    /// `cpu` or `gpu`.
    pub fn name(self) -> &'static str {
        match self {
            Compute::Cpu => "cpu",
            Compute::Gpu => "gpu",
        }
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "the backend panicked".into()
    }
}
