//! Builds tiny TFLite flatbuffers for tests, with `flatbuffers::FlatBufferBuilder`.

use flatbuffers::{FlatBufferBuilder, WIPOffset};

/// A scalar field of an options table.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    /// A one-byte field (enum or bool).
    Byte(u8),
    /// A 32-bit integer field.
    Int(i32),
    /// A 32-bit float field.
    Float(f32),
}

/// An operator options table: union tag and (vtable offset, value) fields.
#[derive(Debug, Clone)]
pub struct OptionsSpec {
    /// `BuiltinOptions` union tag.
    pub tag: u8,
    /// Fields by vtable offset.
    pub fields: Vec<(u16, Field)>,
}

#[derive(Debug, Clone)]
struct TensorSpec {
    name: String,
    shape: Vec<i32>,
    dtype: i8,
    data: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
struct OpSpec {
    opcode: u32,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    options: Option<OptionsSpec>,
}

/// A model under construction: one subgraph.
#[derive(Debug, Clone, Default)]
pub struct TinyModel {
    tensors: Vec<TensorSpec>,
    ops: Vec<OpSpec>,
    opcodes: Vec<(i8, i32)>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
}

impl TinyModel {
    /// An empty model.
    pub fn new() -> TinyModel {
        TinyModel::default()
    }

    /// Adds a float32 activation tensor; returns its index.
    pub fn tensor(&mut self, name: &str, shape: &[i32]) -> i32 {
        self.push(name, shape, 0, None)
    }

    /// Adds a float32 constant; returns its index.
    pub fn constant(&mut self, name: &str, shape: &[i32], values: &[f32]) -> i32 {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(name, shape, 0, Some(data))
    }

    /// Adds an int32 constant; returns its index.
    pub fn int_constant(&mut self, name: &str, shape: &[i32], values: &[i32]) -> i32 {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(name, shape, 2, Some(data))
    }

    /// Adds a tensor of any type code with optional raw data; returns its index.
    pub fn push(&mut self, name: &str, shape: &[i32], dtype: i8, data: Option<Vec<u8>>) -> i32 {
        self.tensors.push(TensorSpec {
            name: name.into(),
            shape: shape.to_vec(),
            dtype,
            data,
        });
        self.tensors.len() as i32 - 1
    }

    /// Registers an operator code as (deprecated_builtin_code, builtin_code); returns its index.
    pub fn opcode(&mut self, deprecated: i8, builtin: i32) -> u32 {
        self.opcodes.push((deprecated, builtin));
        self.opcodes.len() as u32 - 1
    }

    /// Adds an operator with a builtin code (registered once, new style).
    pub fn op(&mut self, code: i32, inputs: &[i32], outputs: &[i32], options: Option<OptionsSpec>) {
        let deprecated = code.min(127) as i8;
        let opcode = match self.opcodes.iter().position(|&c| c == (deprecated, code)) {
            Some(i) => i as u32,
            None => self.opcode(deprecated, code),
        };
        self.op_with_opcode(opcode, inputs, outputs, options);
    }

    /// Adds an operator by opcode-table index.
    pub fn op_with_opcode(
        &mut self,
        opcode: u32,
        inputs: &[i32],
        outputs: &[i32],
        options: Option<OptionsSpec>,
    ) {
        self.ops.push(OpSpec {
            opcode,
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            options,
        });
    }

    /// Sets the graph inputs and outputs.
    pub fn io(&mut self, inputs: &[i32], outputs: &[i32]) {
        self.inputs = inputs.to_vec();
        self.outputs = outputs.to_vec();
    }

    /// Serialises the model with the `TFL3` identifier.
    pub fn build(&self) -> Vec<u8> {
        let mut b = FlatBufferBuilder::new();
        let mut buffers = vec![empty_table(&mut b)];
        let mut tensors = Vec::new();
        for t in &self.tensors {
            let buffer = match &t.data {
                Some(data) => {
                    let data = b.create_vector(data);
                    let start = b.start_table();
                    b.push_slot_always(4, data);
                    buffers.push(b.end_table(start));
                    buffers.len() as u32 - 1
                }
                None => 0,
            };
            let name = b.create_string(&t.name);
            let shape = b.create_vector(&t.shape);
            let start = b.start_table();
            b.push_slot_always(4, shape);
            b.push_slot::<i8>(6, t.dtype, 0);
            b.push_slot::<u32>(8, buffer, 0);
            b.push_slot_always(10, name);
            tensors.push(b.end_table(start));
        }
        let mut ops = Vec::new();
        for op in &self.ops {
            let options = op.options.as_ref().map(|o| {
                let start = b.start_table();
                for &(field, value) in &o.fields {
                    match value {
                        Field::Byte(v) => b.push_slot_always::<u8>(field, v),
                        Field::Int(v) => b.push_slot_always::<i32>(field, v),
                        Field::Float(v) => b.push_slot_always::<f32>(field, v),
                    }
                }
                (o.tag, b.end_table(start))
            });
            let inputs = b.create_vector(&op.inputs);
            let outputs = b.create_vector(&op.outputs);
            let start = b.start_table();
            b.push_slot::<u32>(4, op.opcode, 0);
            b.push_slot_always(6, inputs);
            b.push_slot_always(8, outputs);
            if let Some((tag, table)) = options {
                b.push_slot_always::<u8>(10, tag);
                b.push_slot_always(12, table);
            }
            ops.push(b.end_table(start));
        }
        let tensors = b.create_vector(&tensors);
        let inputs = b.create_vector(&self.inputs);
        let outputs = b.create_vector(&self.outputs);
        let ops = b.create_vector(&ops);
        let start = b.start_table();
        b.push_slot_always(4, tensors);
        b.push_slot_always(6, inputs);
        b.push_slot_always(8, outputs);
        b.push_slot_always(10, ops);
        let subgraph = b.end_table(start);
        let mut codes = Vec::new();
        for &(deprecated, builtin) in &self.opcodes {
            let start = b.start_table();
            b.push_slot::<i8>(4, deprecated, 0);
            b.push_slot::<i32>(8, 1, 0);
            b.push_slot::<i32>(10, builtin, 0);
            codes.push(b.end_table(start));
        }
        let codes = b.create_vector(&codes);
        let subgraphs = b.create_vector(&[subgraph]);
        let buffers = b.create_vector(&buffers);
        let start = b.start_table();
        b.push_slot::<u32>(4, 3, 0);
        b.push_slot_always(6, codes);
        b.push_slot_always(8, subgraphs);
        b.push_slot_always(12, buffers);
        let model = b.end_table(start);
        b.finish(model, Some("TFL3"));
        b.finished_data().to_vec()
    }
}

fn empty_table<'b>(
    b: &mut FlatBufferBuilder<'b>,
) -> WIPOffset<flatbuffers::TableFinishedWIPOffset> {
    let start = b.start_table();
    b.end_table(start)
}

/// `Conv2DOptions` (VALID or SAME, strides, fused activation).
pub fn conv_options(same: bool, stride: i32, activation: u8) -> OptionsSpec {
    OptionsSpec {
        tag: 1,
        fields: vec![
            (4, Field::Byte(if same { 0 } else { 1 })),
            (6, Field::Int(stride)),
            (8, Field::Int(stride)),
            (10, Field::Byte(activation)),
        ],
    }
}

/// `FullyConnectedOptions` with a fused activation.
pub fn fc_options(activation: u8) -> OptionsSpec {
    OptionsSpec {
        tag: 8,
        fields: vec![(4, Field::Byte(activation))],
    }
}

/// An arithmetic options table (`AddOptions` = 11, `SubOptions` = 28, `MulOptions` = 21, `DivOptions` = 29).
pub fn arith_options(tag: u8) -> OptionsSpec {
    OptionsSpec {
        tag,
        fields: vec![(4, Field::Byte(0))],
    }
}
