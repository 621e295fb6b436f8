//! The values of an ONNX initializer, whichever field of the message holds
//! them (`raw_data` little-endian bytes, or the typed repeated field).

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::TensorProto;

/// The values of a float tensor; `None` when it is not float.
pub fn float_values(t: &TensorProto) -> Option<Vec<f32>> {
    (t.data_type == DataType::Float as i32).then(|| {
        if t.raw_data.is_empty() {
            t.float_data.clone()
        } else {
            t.raw_data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
    })
}

/// The values of an int8 tensor; `None` when it is not int8.
pub fn int8_values(t: &TensorProto) -> Option<Vec<i8>> {
    (t.data_type == DataType::Int8 as i32).then(|| {
        if t.raw_data.is_empty() {
            t.int32_data.iter().map(|&v| v as i8).collect()
        } else {
            t.raw_data.iter().map(|&b| b as i8).collect()
        }
    })
}
