//! Hand-written flatbuffer accessors for the subset of the TFLite schema
//! (`tensorflow/lite/schema/schema.fbs`) that the importer reads.
//!
//! Every table here implements [`Verifiable`], visiting exactly the fields its
//! accessors read, so a buffer that passed [`flatbuffers::root`] can be read
//! through these accessors without any out-of-bounds access.

use flatbuffers::{
    Follow, ForwardsUOffset, InvalidFlatbuffer, Table, VOffsetT, Vector, Verifiable, Verifier,
};

/// A vector of tables.
type Tables<'a, T> = Vector<'a, ForwardsUOffset<T>>;

/// Reads a scalar field, or `default` when absent.
fn scalar<'a, T: Follow<'a, Inner = T> + Copy + 'a>(
    table: &Table<'a>,
    field: VOffsetT,
    default: T,
) -> T {
    // SAFETY: every table type below verifies each field with the type its accessor reads.
    unsafe { table.get::<T>(field, Some(default)).unwrap_or(default) }
}

/// Reads an offset field (vector, string or table), or `None` when absent.
fn offset<'a, T: Follow<'a> + 'a>(table: &Table<'a>, field: VOffsetT) -> Option<T::Inner> {
    // SAFETY: as for `scalar`.
    unsafe { table.get::<ForwardsUOffset<T>>(field, None) }
}

/// Declares a table wrapper with its `Follow` implementation.
macro_rules! table {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub(crate) struct $name<'a>(Table<'a>);

        impl<'a> Follow<'a> for $name<'a> {
            type Inner = $name<'a>;
            unsafe fn follow(buf: &'a [u8], loc: usize) -> Self::Inner {
                // SAFETY: forwarded from the caller of `follow`.
                $name(unsafe { Table::new(buf, loc) })
            }
        }
    };
}

table!(
    /// The root table.
    Model
);
impl<'a> Model<'a> {
    const OPERATOR_CODES: VOffsetT = 6;
    const SUBGRAPHS: VOffsetT = 8;
    const BUFFERS: VOffsetT = 12;

    /// The operator code table.
    pub fn operator_codes(&self) -> Option<Tables<'a, OperatorCode<'a>>> {
        offset::<Tables<'a, OperatorCode<'a>>>(&self.0, Self::OPERATOR_CODES)
    }
    /// The subgraphs; the first is the main graph.
    pub fn subgraphs(&self) -> Option<Tables<'a, SubGraph<'a>>> {
        offset::<Tables<'a, SubGraph<'a>>>(&self.0, Self::SUBGRAPHS)
    }
    /// The data buffers that tensors point into.
    pub fn buffers(&self) -> Option<Tables<'a, Buffer<'a>>> {
        offset::<Tables<'a, Buffer<'a>>>(&self.0, Self::BUFFERS)
    }
}
impl Verifiable for Model<'_> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<ForwardsUOffset<Tables<OperatorCode>>>(
                "operator_codes",
                Self::OPERATOR_CODES,
                false,
            )?
            .visit_field::<ForwardsUOffset<Tables<SubGraph>>>("subgraphs", Self::SUBGRAPHS, false)?
            .visit_field::<ForwardsUOffset<Tables<Buffer>>>("buffers", Self::BUFFERS, false)?
            .finish();
        Ok(())
    }
}

table!(
    /// One entry of the operator code table.
    OperatorCode
);
impl OperatorCode<'_> {
    const DEPRECATED_BUILTIN_CODE: VOffsetT = 4;
    const BUILTIN_CODE: VOffsetT = 10;

    /// The pre-2.3 one-byte code (127 = "look at `builtin_code`").
    pub fn deprecated_builtin_code(&self) -> i8 {
        scalar::<i8>(&self.0, Self::DEPRECATED_BUILTIN_CODE, 0)
    }
    /// The 32-bit code.
    pub fn builtin_code(&self) -> i32 {
        scalar::<i32>(&self.0, Self::BUILTIN_CODE, 0)
    }
}
impl Verifiable for OperatorCode<'_> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<i8>(
                "deprecated_builtin_code",
                Self::DEPRECATED_BUILTIN_CODE,
                false,
            )?
            .visit_field::<i32>("builtin_code", Self::BUILTIN_CODE, false)?
            .finish();
        Ok(())
    }
}

table!(
    /// A graph: tensors, operators, and the graph's inputs and outputs.
    SubGraph
);
impl<'a> SubGraph<'a> {
    const TENSORS: VOffsetT = 4;
    const INPUTS: VOffsetT = 6;
    const OUTPUTS: VOffsetT = 8;
    const OPERATORS: VOffsetT = 10;

    /// All tensors of the graph.
    pub fn tensors(&self) -> Option<Tables<'a, Tensor<'a>>> {
        offset::<Tables<'a, Tensor<'a>>>(&self.0, Self::TENSORS)
    }
    /// Indices of the graph inputs.
    pub fn inputs(&self) -> Option<Vector<'a, i32>> {
        offset::<Vector<'a, i32>>(&self.0, Self::INPUTS)
    }
    /// Indices of the graph outputs.
    pub fn outputs(&self) -> Option<Vector<'a, i32>> {
        offset::<Vector<'a, i32>>(&self.0, Self::OUTPUTS)
    }
    /// The operators, in execution order.
    pub fn operators(&self) -> Option<Tables<'a, Operator<'a>>> {
        offset::<Tables<'a, Operator<'a>>>(&self.0, Self::OPERATORS)
    }
}
impl Verifiable for SubGraph<'_> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<ForwardsUOffset<Tables<Tensor>>>("tensors", Self::TENSORS, false)?
            .visit_field::<ForwardsUOffset<Vector<i32>>>("inputs", Self::INPUTS, false)?
            .visit_field::<ForwardsUOffset<Vector<i32>>>("outputs", Self::OUTPUTS, false)?
            .visit_field::<ForwardsUOffset<Tables<Operator>>>("operators", Self::OPERATORS, false)?
            .finish();
        Ok(())
    }
}

table!(
    /// A tensor: shape, element type, name and the buffer holding constant data.
    Tensor
);
impl<'a> Tensor<'a> {
    const SHAPE: VOffsetT = 4;
    const TYPE: VOffsetT = 6;
    const BUFFER: VOffsetT = 8;
    const NAME: VOffsetT = 10;

    /// The static shape (absent for scalars in some writers).
    pub fn shape(&self) -> Option<Vector<'a, i32>> {
        offset::<Vector<'a, i32>>(&self.0, Self::SHAPE)
    }
    /// The `TensorType` code.
    pub fn tensor_type(&self) -> i8 {
        scalar::<i8>(&self.0, Self::TYPE, 0)
    }
    /// Index into the model's buffers (0 = the empty sentinel buffer).
    pub fn buffer(&self) -> u32 {
        scalar::<u32>(&self.0, Self::BUFFER, 0)
    }
    /// The tensor name.
    pub fn name(&self) -> Option<&'a str> {
        offset::<&'a str>(&self.0, Self::NAME)
    }
}
impl Verifiable for Tensor<'_> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<ForwardsUOffset<Vector<i32>>>("shape", Self::SHAPE, false)?
            .visit_field::<i8>("type", Self::TYPE, false)?
            .visit_field::<u32>("buffer", Self::BUFFER, false)?
            .visit_field::<ForwardsUOffset<&str>>("name", Self::NAME, false)?
            .finish();
        Ok(())
    }
}

table!(
    /// Raw bytes, stored inline or (for files over 2 GiB) at an offset in the file.
    Buffer
);
impl<'a> Buffer<'a> {
    const DATA: VOffsetT = 4;
    const OFFSET: VOffsetT = 6;
    const SIZE: VOffsetT = 8;

    /// Inline data.
    pub fn data(&self) -> Option<Vector<'a, u8>> {
        offset::<Vector<'a, u8>>(&self.0, Self::DATA)
    }
    /// Offset of out-of-line data from the start of the file (0 or 1 = none).
    pub fn offset(&self) -> u64 {
        scalar::<u64>(&self.0, Self::OFFSET, 0)
    }
    /// Size of out-of-line data.
    pub fn size(&self) -> u64 {
        scalar::<u64>(&self.0, Self::SIZE, 0)
    }
}
impl Verifiable for Buffer<'_> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<ForwardsUOffset<Vector<u8>>>("data", Self::DATA, false)?
            .visit_field::<u64>("offset", Self::OFFSET, false)?
            .visit_field::<u64>("size", Self::SIZE, false)?
            .finish();
        Ok(())
    }
}

table!(
    /// One operator: which code, which tensors in and out, and its options.
    Operator
);
impl<'a> Operator<'a> {
    const OPCODE_INDEX: VOffsetT = 4;
    const INPUTS: VOffsetT = 6;
    const OUTPUTS: VOffsetT = 8;
    const OPTIONS_TYPE: VOffsetT = 10;
    const OPTIONS: VOffsetT = 12;

    /// Index into the model's operator code table.
    pub fn opcode_index(&self) -> u32 {
        scalar::<u32>(&self.0, Self::OPCODE_INDEX, 0)
    }
    /// Input tensor indices (-1 = optional input left out).
    pub fn inputs(&self) -> Option<Vector<'a, i32>> {
        offset::<Vector<'a, i32>>(&self.0, Self::INPUTS)
    }
    /// Output tensor indices.
    pub fn outputs(&self) -> Option<Vector<'a, i32>> {
        offset::<Vector<'a, i32>>(&self.0, Self::OUTPUTS)
    }
    /// The `BuiltinOptions` union tag.
    pub fn options_type(&self) -> u8 {
        scalar::<u8>(&self.0, Self::OPTIONS_TYPE, 0)
    }
    /// The options table, to be read as `kind`. It is verified as `kind` here,
    /// at the point of use, as well as by the file's verifier: fuzzing found
    /// a file whose options offset the file's verification let through and
    /// whose read then went out of bounds; `None` for such an offset.
    pub fn options_table(&self, kind: OptionsKind) -> Option<Table<'a>> {
        let slot = self.0.vtable().get(Self::OPTIONS);
        if slot == 0 {
            return None;
        }
        let opts = flatbuffers::VerifierOptions::default();
        let mut v = Verifier::new(&opts, self.0.buf());
        kind.verify(&mut v, self.0.loc().checked_add(usize::from(slot))?)
            .ok()?;
        offset::<Table<'a>>(&self.0, Self::OPTIONS)
    }
}
impl Verifiable for Operator<'_> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<u32>("opcode_index", Self::OPCODE_INDEX, false)?
            .visit_field::<ForwardsUOffset<Vector<i32>>>("inputs", Self::INPUTS, false)?
            .visit_field::<ForwardsUOffset<Vector<i32>>>("outputs", Self::OUTPUTS, false)?
            .visit_union::<u8, _>(
                "builtin_options_type",
                Self::OPTIONS_TYPE,
                "builtin_options",
                Self::OPTIONS,
                false,
                |tag, v, pos| match OptionsKind::from_tag(tag) {
                    Some(kind) => kind.verify(v, pos),
                    None => Ok(()),
                },
            )?
            .finish();
        Ok(())
    }
}

/// The `BuiltinOptions` variants the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionsKind {
    Conv2D,
    DepthwiseConv2D,
    Pool2D,
    FullyConnected,
    Concatenation,
    Add,
    Reshape,
    Mul,
    Reducer,
    Sub,
    Div,
    StridedSlice,
    LeakyRelu,
}

impl OptionsKind {
    /// Maps a union tag to a kind, `None` for variants the importer does not read.
    pub fn from_tag(tag: u8) -> Option<OptionsKind> {
        Some(match tag {
            1 => OptionsKind::Conv2D,
            2 => OptionsKind::DepthwiseConv2D,
            5 => OptionsKind::Pool2D,
            8 => OptionsKind::FullyConnected,
            10 => OptionsKind::Concatenation,
            11 => OptionsKind::Add,
            17 => OptionsKind::Reshape,
            21 => OptionsKind::Mul,
            27 => OptionsKind::Reducer,
            28 => OptionsKind::Sub,
            29 => OptionsKind::Div,
            32 => OptionsKind::StridedSlice,
            75 => OptionsKind::LeakyRelu,
            _ => return None,
        })
    }

    /// The scalar fields of this options table, as (name, vtable offset, size in bytes).
    fn scalar_fields(self) -> &'static [(&'static str, VOffsetT, u8)] {
        match self {
            OptionsKind::Conv2D => &[
                ("padding", 4, 1),
                ("stride_w", 6, 4),
                ("stride_h", 8, 4),
                ("fused_activation_function", 10, 1),
                ("dilation_w_factor", 12, 4),
                ("dilation_h_factor", 14, 4),
            ],
            OptionsKind::DepthwiseConv2D => &[
                ("padding", 4, 1),
                ("stride_w", 6, 4),
                ("stride_h", 8, 4),
                ("depth_multiplier", 10, 4),
                ("fused_activation_function", 12, 1),
                ("dilation_w_factor", 14, 4),
                ("dilation_h_factor", 16, 4),
            ],
            OptionsKind::Pool2D => &[
                ("padding", 4, 1),
                ("stride_w", 6, 4),
                ("stride_h", 8, 4),
                ("filter_width", 10, 4),
                ("filter_height", 12, 4),
                ("fused_activation_function", 14, 1),
            ],
            OptionsKind::FullyConnected => &[
                ("fused_activation_function", 4, 1),
                ("weights_format", 6, 1),
                ("keep_num_dims", 8, 1),
            ],
            OptionsKind::Concatenation => &[("axis", 4, 4), ("fused_activation_function", 6, 1)],
            OptionsKind::Add | OptionsKind::Mul | OptionsKind::Sub | OptionsKind::Div => {
                &[("fused_activation_function", 4, 1)]
            }
            OptionsKind::Reshape => &[],
            OptionsKind::Reducer => &[("keep_dims", 4, 1)],
            OptionsKind::StridedSlice => &[
                ("begin_mask", 4, 4),
                ("end_mask", 6, 4),
                ("ellipsis_mask", 8, 4),
                ("new_axis_mask", 10, 4),
                ("shrink_axis_mask", 12, 4),
                ("offset", 14, 1),
            ],
            OptionsKind::LeakyRelu => &[("alpha", 4, 4)],
        }
    }

    /// Verifies the options table that the union offset at `pos` points to.
    fn verify(self, v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        let offset = v.get_uoffset(pos)? as usize;
        let mut table = v.visit_table(pos.saturating_add(offset))?;
        for &(name, field, size) in self.scalar_fields() {
            table = match size {
                1 => table.visit_field::<u8>(name, field, false)?,
                _ => table.visit_field::<u32>(name, field, false)?,
            };
        }
        if self == OptionsKind::Reshape {
            table = table.visit_field::<ForwardsUOffset<Vector<i32>>>(
                "new_shape",
                OptionsTable::RESHAPE_NEW_SHAPE,
                false,
            )?;
        }
        table.finish();
        Ok(())
    }
}

/// A verified options table, read field by field.
#[derive(Clone, Copy)]
pub(crate) struct OptionsTable<'a>(pub Table<'a>);

impl<'a> OptionsTable<'a> {
    /// `ReshapeOptions.new_shape`.
    pub const RESHAPE_NEW_SHAPE: VOffsetT = 4;

    /// A one-byte field (enums, bools), or `default`.
    pub fn byte(&self, field: VOffsetT, default: u8) -> u8 {
        scalar::<u8>(&self.0, field, default)
    }
    /// A 32-bit integer field, or `default`.
    pub fn int(&self, field: VOffsetT, default: i32) -> i32 {
        scalar::<i32>(&self.0, field, default)
    }
    /// A 32-bit float field, or `default`.
    pub fn float(&self, field: VOffsetT, default: f32) -> f32 {
        scalar::<f32>(&self.0, field, default)
    }
    /// An int vector field.
    pub fn ints(&self, field: VOffsetT) -> Option<Vector<'a, i32>> {
        offset::<Vector<'a, i32>>(&self.0, field)
    }
}
