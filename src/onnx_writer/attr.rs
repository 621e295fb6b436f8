//! Constructors for ONNX node attributes.

use crate::model::onnx_proto::attribute_proto::AttributeType;
use crate::model::onnx_proto::AttributeProto;

fn base(name: &str, kind: AttributeType) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: kind as i32,
        ..Default::default()
    }
}

/// An integer attribute.
pub fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        i: value,
        ..base(name, AttributeType::Int)
    }
}

/// An integer-list attribute.
pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: values.to_vec(),
        ..base(name, AttributeType::Ints)
    }
}

/// A float attribute.
pub fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        f: value,
        ..base(name, AttributeType::Float)
    }
}

/// A string attribute.
pub fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        s: value.as_bytes().to_vec(),
        ..base(name, AttributeType::String)
    }
}
