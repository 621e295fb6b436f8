//! Builtin operator codes, tensor element types and the option values the importer reads.

use std::fmt;

/// A TFLite builtin operator code (`BuiltinOperator` in the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BuiltinOp(pub i32);

impl BuiltinOp {
    /// `ADD`
    pub const ADD: Self = Self(0);
    /// `AVERAGE_POOL_2D`
    pub const AVERAGE_POOL_2D: Self = Self(1);
    /// `CONCATENATION`
    pub const CONCATENATION: Self = Self(2);
    /// `CONV_2D`
    pub const CONV_2D: Self = Self(3);
    /// `DEPTHWISE_CONV_2D`
    pub const DEPTHWISE_CONV_2D: Self = Self(4);
    /// `DEQUANTIZE`
    pub const DEQUANTIZE: Self = Self(6);
    /// `FULLY_CONNECTED`
    pub const FULLY_CONNECTED: Self = Self(9);
    /// `MAX_POOL_2D`
    pub const MAX_POOL_2D: Self = Self(17);
    /// `MUL`
    pub const MUL: Self = Self(18);
    /// `RELU`
    pub const RELU: Self = Self(19);
    /// `RESHAPE`
    pub const RESHAPE: Self = Self(22);
    /// `SUB`
    pub const SUB: Self = Self(41);
    /// `DIV`
    pub const DIV: Self = Self(42);
    /// `STRIDED_SLICE`
    pub const STRIDED_SLICE: Self = Self(45);
    /// `EXP`
    pub const EXP: Self = Self(47);
    /// `CAST`
    pub const CAST: Self = Self(53);
    /// `LESS`
    pub const LESS: Self = Self(58);
    /// `NEG`
    pub const NEG: Self = Self(59);
    /// `GREATER_EQUAL`
    pub const GREATER_EQUAL: Self = Self(62);
    /// `SUM`
    pub const SUM: Self = Self(74);
    /// `REDUCE_MAX`
    pub const REDUCE_MAX: Self = Self(82);
    /// `LEAKY_RELU`
    pub const LEAKY_RELU: Self = Self(98);
    /// `ABS`
    pub const ABS: Self = Self(101);

    /// The schema name of this operator, e.g. `CONV_2D`.
    pub fn name(self) -> String {
        usize::try_from(self.0)
            .ok()
            .and_then(|i| BUILTIN_NAMES.get(i))
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("BUILTIN_{}", self.0))
    }
}

impl fmt::Display for BuiltinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Names of the builtin operators, indexed by code (schema order).
const BUILTIN_NAMES: &[&str] = &[
    "ADD",
    "AVERAGE_POOL_2D",
    "CONCATENATION",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "DEPTH_TO_SPACE",
    "DEQUANTIZE",
    "EMBEDDING_LOOKUP",
    "FLOOR",
    "FULLY_CONNECTED",
    "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION",
    "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION",
    "LOGISTIC",
    "LSH_PROJECTION",
    "LSTM",
    "MAX_POOL_2D",
    "MUL",
    "RELU",
    "RELU_N1_TO_1",
    "RELU6",
    "RESHAPE",
    "RESIZE_BILINEAR",
    "RNN",
    "SOFTMAX",
    "SPACE_TO_DEPTH",
    "SVDF",
    "TANH",
    "CONCAT_EMBEDDINGS",
    "SKIP_GRAM",
    "CALL",
    "CUSTOM",
    "EMBEDDING_LOOKUP_SPARSE",
    "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN",
    "GATHER",
    "BATCH_TO_SPACE_ND",
    "SPACE_TO_BATCH_ND",
    "TRANSPOSE",
    "MEAN",
    "SUB",
    "DIV",
    "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE",
    "BIDIRECTIONAL_SEQUENCE_RNN",
    "EXP",
    "TOPK_V2",
    "SPLIT",
    "LOG_SOFTMAX",
    "DELEGATE",
    "BIDIRECTIONAL_SEQUENCE_LSTM",
    "CAST",
    "PRELU",
    "MAXIMUM",
    "ARG_MAX",
    "MINIMUM",
    "LESS",
    "NEG",
    "PADV2",
    "GREATER",
    "GREATER_EQUAL",
    "LESS_EQUAL",
    "SELECT",
    "SLICE",
    "SIN",
    "TRANSPOSE_CONV",
    "SPARSE_TO_DENSE",
    "TILE",
    "EXPAND_DIMS",
    "EQUAL",
    "NOT_EQUAL",
    "LOG",
    "SUM",
    "SQRT",
    "RSQRT",
    "SHAPE",
    "POW",
    "ARG_MIN",
    "FAKE_QUANT",
    "REDUCE_PROD",
    "REDUCE_MAX",
    "PACK",
    "LOGICAL_OR",
    "ONE_HOT",
    "LOGICAL_AND",
    "LOGICAL_NOT",
    "UNPACK",
    "REDUCE_MIN",
    "FLOOR_DIV",
    "REDUCE_ANY",
    "SQUARE",
    "ZEROS_LIKE",
    "FILL",
    "FLOOR_MOD",
    "RANGE",
    "RESIZE_NEAREST_NEIGHBOR",
    "LEAKY_RELU",
    "SQUARED_DIFFERENCE",
    "MIRROR_PAD",
    "ABS",
    "SPLIT_V",
    "UNIQUE",
    "CEIL",
    "REVERSE_V2",
    "ADD_N",
    "GATHER_ND",
    "COS",
    "WHERE",
    "RANK",
    "ELU",
    "REVERSE_SEQUENCE",
    "MATRIX_DIAG",
    "QUANTIZE",
    "MATRIX_SET_DIAG",
    "ROUND",
    "HARD_SWISH",
    "IF",
    "WHILE",
    "NON_MAX_SUPPRESSION_V4",
    "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND",
    "SELECT_V2",
    "DENSIFY",
    "SEGMENT_SUM",
    "BATCH_MATMUL",
    "PLACEHOLDER_FOR_GREATER_OP_CODES",
    "CUMSUM",
    "CALL_ONCE",
    "BROADCAST_TO",
    "RFFT2D",
    "CONV_3D",
    "IMAG",
    "REAL",
    "COMPLEX_ABS",
    "HASHTABLE",
    "HASHTABLE_FIND",
    "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE",
    "REDUCE_ALL",
    "CONV_3D_TRANSPOSE",
    "VAR_HANDLE",
    "READ_VARIABLE",
    "ASSIGN_VARIABLE",
    "BROADCAST_ARGS",
    "RANDOM_STANDARD_NORMAL",
    "BUCKETIZE",
    "RANDOM_UNIFORM",
    "MULTINOMIAL",
    "GELU",
    "DYNAMIC_UPDATE_SLICE",
    "RELU_0_TO_1",
    "UNSORTED_SEGMENT_PROD",
    "UNSORTED_SEGMENT_MAX",
    "UNSORTED_SEGMENT_SUM",
    "ATAN2",
    "UNSORTED_SEGMENT_MIN",
    "SIGN",
    "BITCAST",
    "BITWISE_XOR",
    "RIGHT_SHIFT",
];

/// Element type of a tensor (`TensorType` in the schema), for the types the importer handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    /// 32-bit float.
    Float32,
    /// IEEE half float (weights of fp16-quantized models).
    Float16,
    /// 32-bit signed integer (shapes, axes, indices).
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// Boolean, one byte each.
    Bool,
    /// Any other type, by code.
    Other(i8),
}

impl TensorType {
    /// Decodes a schema type code.
    pub fn from_code(code: i8) -> TensorType {
        match code {
            0 => TensorType::Float32,
            1 => TensorType::Float16,
            2 => TensorType::Int32,
            4 => TensorType::Int64,
            6 => TensorType::Bool,
            other => TensorType::Other(other),
        }
    }

    /// Bytes per element, `None` for types the importer cannot hold as constants.
    pub fn size(self) -> Option<usize> {
        match self {
            TensorType::Float32 | TensorType::Int32 => Some(4),
            TensorType::Float16 => Some(2),
            TensorType::Int64 => Some(8),
            TensorType::Bool => Some(1),
            TensorType::Other(_) => None,
        }
    }
}

/// Padding scheme of convolutions and pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// TensorFlow `SAME`: output = ceil(input / stride), extra padding at the end.
    Same,
    /// No padding.
    Valid,
}

/// Activation fused into an operator (`ActivationFunctionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// No activation.
    None,
    /// max(x, 0)
    Relu,
    /// clamp(x, -1, 1)
    ReluN1To1,
    /// clamp(x, 0, 6)
    Relu6,
    /// tanh(x)
    Tanh,
    /// Any other code.
    Other(u8),
}

impl Activation {
    /// Decodes a schema code.
    pub fn from_code(code: u8) -> Activation {
        match code {
            0 => Activation::None,
            1 => Activation::Relu,
            2 => Activation::ReluN1To1,
            3 => Activation::Relu6,
            4 => Activation::Tanh,
            other => Activation::Other(other),
        }
    }
}

/// Window parameters shared by convolutions and pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Padding scheme.
    pub padding: Padding,
    /// Stride along H, then W.
    pub stride: [usize; 2],
    /// Dilation along H, then W (1 for pools).
    pub dilation: [usize; 2],
}

/// The options of one operator, decoded for the variants the importer reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Options {
    /// The operator has no options table.
    None,
    /// `Conv2DOptions`.
    Conv2D {
        /// Strides, dilations, padding.
        window: Window,
        /// Fused activation.
        activation: Activation,
    },
    /// `DepthwiseConv2DOptions`.
    DepthwiseConv2D {
        /// Strides, dilations, padding.
        window: Window,
        /// Output channels per input channel.
        depth_multiplier: i32,
        /// Fused activation.
        activation: Activation,
    },
    /// `Pool2DOptions`.
    Pool2D {
        /// Strides and padding.
        window: Window,
        /// Filter height, then width.
        filter: [usize; 2],
        /// Fused activation.
        activation: Activation,
    },
    /// `FullyConnectedOptions`.
    FullyConnected {
        /// Fused activation.
        activation: Activation,
        /// 0 = default; others are shuffled formats the importer rejects.
        weights_format: u8,
        /// Keep the input's leading dimensions instead of flattening to rank 2.
        keep_num_dims: bool,
    },
    /// `ConcatenationOptions`.
    Concatenation {
        /// Concatenation axis (may be negative).
        axis: i32,
        /// Fused activation.
        activation: Activation,
    },
    /// `AddOptions`, `SubOptions`, `MulOptions`, `DivOptions`.
    Arithmetic {
        /// Fused activation.
        activation: Activation,
    },
    /// `ReshapeOptions`.
    Reshape {
        /// Target shape, when given in the options rather than as an input.
        new_shape: Option<Vec<i32>>,
    },
    /// `ReducerOptions`.
    Reducer {
        /// Keep reduced axes with size 1.
        keep_dims: bool,
    },
    /// `StridedSliceOptions`.
    StridedSlice {
        /// Axes whose begin is ignored (full range).
        begin_mask: i32,
        /// Axes whose end is ignored (full range).
        end_mask: i32,
        /// Ellipsis axes.
        ellipsis_mask: i32,
        /// Inserted axes.
        new_axis_mask: i32,
        /// Removed axes.
        shrink_axis_mask: i32,
        /// `end` is relative to `begin`.
        offset: bool,
    },
    /// `LeakyReluOptions`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// An options variant the importer does not read, by union tag.
    Unread(u8),
}
