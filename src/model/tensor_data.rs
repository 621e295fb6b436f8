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

/// The values of an int64 or int32 tensor, widened; `None` for other types.
pub fn int_values(t: &TensorProto) -> Option<Vec<i64>> {
    if t.data_type == DataType::Int64 as i32 {
        Some(if t.raw_data.is_empty() {
            t.int64_data.clone()
        } else {
            t.raw_data
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect()
        })
    } else if t.data_type == DataType::Int32 as i32 {
        Some(if t.raw_data.is_empty() {
            t.int32_data.iter().map(|&v| i64::from(v)).collect()
        } else {
            t.raw_data
                .chunks_exact(4)
                .map(|b| i64::from(i32::from_le_bytes(b.try_into().expect("4 bytes"))))
                .collect()
        })
    } else {
        None
    }
}

/// How many elements the stored data of `t` holds (in `raw_data` or its
/// typed field), or `None` for a type whose width is not fixed (strings).
pub fn stored_elements(t: &TensorProto) -> Option<u64> {
    let data_type = DataType::try_from(t.data_type).ok()?;
    let width: u64 = match data_type {
        DataType::Uint8 | DataType::Int8 | DataType::Bool => 1,
        DataType::Uint16 | DataType::Int16 | DataType::Float16 | DataType::Bfloat16 => 2,
        DataType::Float | DataType::Int32 | DataType::Uint32 => 4,
        DataType::Int64 | DataType::Uint64 | DataType::Double | DataType::Complex64 => 8,
        DataType::Complex128 => 16,
        _ => return None,
    };
    if !t.raw_data.is_empty() {
        return Some(t.raw_data.len() as u64 / width);
    }
    let typed = match data_type {
        DataType::Float => t.float_data.len(),
        DataType::Complex64 => t.float_data.len() / 2,
        DataType::Int64 => t.int64_data.len(),
        DataType::Double => t.double_data.len(),
        DataType::Complex128 => t.double_data.len() / 2,
        DataType::Uint32 | DataType::Uint64 => t.uint64_data.len(),
        _ => t.int32_data.len(),
    };
    Some(typed as u64)
}
